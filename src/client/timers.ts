/**
 * The lifecycle's timers, each under its own name: setting a name clears
 * what it held, so no two deadlines share a slot and every one is cleared
 * by its owner (client/lifecycle.ts).
 */
/** The lifecycle's timers. retry: the backoff wait; stable: resetAfterMs of an open link; ttl: the next send ttl; close: the drain bound. */
export type LifecycleTimer = 'retry' | 'stable' | 'ttl' | 'close';

export class NamedTimers<N extends string> {
  private readonly timers = new Map<N, NodeJS.Timeout>();

  /** @param unref unref every timer (the client's `unref` option). */
  constructor(private readonly unref: boolean) {}

  /** Runs `fn` in `ms` under `name`, replacing that name's timer. `unref` here unrefs this one whatever the option. */
  set(name: N, ms: number, fn: () => void, unref = this.unref): void {
    this.clear(name);
    const t = setTimeout(() => {
      this.timers.delete(name);
      fn();
    }, ms);
    if (unref) t.unref();
    this.timers.set(name, t);
  }

  has(name: N): boolean {
    return this.timers.has(name);
  }

  clear(name: N): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** The lifecycle's timers by name (client/lifecycle.ts and the close stages in client/closing.ts). */
export type LifecycleTimers = NamedTimers<LifecycleTimer>;
