/**
 * The lifecycle's timers, each under its own name: setting a name clears
 * what it held, so no two deadlines share a slot and every one is cleared
 * by its owner (client/lifecycle.ts).
 */
/** The lifecycle's timers. retry: the backoff wait; ttl: the next send ttl; close: the drain bound. */
export type LifecycleTimer = 'retry' | 'ttl' | 'close';

export class NamedTimers<N extends string> {
  /** A plain object, not a Map, made by the first timer: a client that never lost its connection holds none (bench/heap-per-client.ts). */
  private timers: Partial<Record<N, NodeJS.Timeout>> | undefined = undefined;

  /** @param unref unref every timer (the client's `unref` option). */
  constructor(private readonly unref: boolean) {}

  /** Runs `fn` in `ms` under `name`, replacing that name's timer. `unref` here unrefs this one whatever the option. */
  set(name: N, ms: number, fn: () => void, unref = this.unref): void {
    this.clear(name);
    const timers: Partial<Record<N, NodeJS.Timeout>> = (this.timers ??= {});
    const t = setTimeout(() => {
      timers[name] = undefined;
      fn();
    }, ms);
    if (unref) t.unref();
    timers[name] = t;
  }

  has(name: N): boolean {
    return this.timers?.[name] !== undefined;
  }

  clear(name: N): void {
    const timers = this.timers;
    const t = timers?.[name];
    if (timers === undefined || t === undefined) return;
    clearTimeout(t);
    timers[name] = undefined;
  }

  clearAll(): void {
    const timers = this.timers;
    if (timers === undefined) return;
    for (const name of Object.keys(timers) as N[]) this.clear(name);
  }
}

/** The lifecycle's timers by name (client/lifecycle.ts and the close stages in client/closing.ts). */
export type LifecycleTimers = NamedTimers<LifecycleTimer>;
