/**
 * Waiting for events instead of sleeping: each wait has a generous guard
 * timeout that only fires when the behaviour under test is broken.
 */
interface Emitterish {
  on(event: string, fn: (...args: any[]) => void): unknown;
  off(event: string, fn: (...args: any[]) => void): unknown;
}

/** The first emission of `event` whose arguments satisfy `predicate`. */
export function waitFor<T extends unknown[] = any[]>(
  emitter: Emitterish,
  event: string,
  predicate: (...args: T) => boolean = () => true,
  guardMs = 15_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${guardMs} ms waiting for '${event}'`));
    }, guardMs);
    const handler = (...args: unknown[]): void => {
      if (!predicate(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args as T);
    };
    emitter.on(event, handler);
  });
}

/** Resolves when `cond()` holds, checking on every emission of the given events. */
export function waitUntil(emitter: Emitterish, events: string[], cond: () => boolean, guardMs = 15_000): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const handler = (): void => {
      if (!cond()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${guardMs} ms waiting for a condition on ${events.join(', ')}`));
    }, guardMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, handler);
    };
    for (const e of events) emitter.on(e, handler);
  });
}

/** Collects every emission of `event` into an array. */
export function record<T extends unknown[] = any[]>(emitter: Emitterish, event: string): T[] {
  const out: T[] = [];
  emitter.on(event, (...args: unknown[]) => out.push(args as T));
  return out;
}
