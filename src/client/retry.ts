/**
 * The retry policy as the lifecycle (client/lifecycle.ts) applies it: the
 * `lost` event a link's end raises (the user's `reconnect.delay` hook asked
 * about the retry the table would schedule, before the one transition), the
 * delay of the retry `reconnecting` waits for, the error `giveUp`
 * carries, and whether a lost connection was stable (open resetAfterMs). The decisions themselves are the table's (core/state.ts).
 */
import { askRetryDelay, backoffDelay } from '../core/backoff';
import { ResilientError, retriesAtOnce, sdkError } from '../core/errors';
import { type LostEvent, type Machine, type MachineIn, type RetryPolicy, nextRetry } from '../core/state';
import type { ResolvedOptions } from './options';

/** openedAt before the first open. */
const NEVER = -1;

export class RetryPlanner {
  /** The last delay waited: decorrelated jitter grows from it; a stable connection resets it. */
  private lastDelay = 0;
  /** When the client last became open (performance.now() in whole ms: a small integer, not a boxed heap number per client; so stable up to 1 ms early). */
  private openedAt = NEVER;

  constructor(private readonly opts: Pick<ResolvedOptions<unknown>, 'reconnect' | 'random'>) {}

  /** The resolved reconnect options, a RetryPolicy already (often the one shared default object): read, not kept in a field of its own. */
  get policy(): RetryPolicy {
    return this.opts.reconnect;
  }

  /** The `lost` event for `err` in `machine`, with the user's hook's answer when a retry would follow. */
  lost(machine: Machine, err: ResilientError): LostEvent {
    const event: LostEvent = { type: 'lost', kind: err.kind, retryAtOnce: retriesAtOnce(err.code) };
    const hook = this.opts.reconnect.delay;
    const attempt = hook ? nextRetry(machine, event, this.policy) : undefined;
    return hook && attempt !== undefined ? { ...event, hook: askRetryDelay(hook, attempt, err) } : event;
  }

  /** The wait before the retry `m` is in, in ms: the hook's, 0 when immediate, else the backoff's. */
  delay(m: MachineIn<'reconnecting'>): number {
    const delayMs = m.retry.delayMs ?? (m.retry.immediate ? 0 : backoffDelay(this.opts.reconnect, m.retries - 1, this.lastDelay, this.opts.random));
    this.lastDelay = delayMs;
    return delayMs;
  }

  /** Whether the client was ever open (the lifecycle counts the opens after the first as reconnects). */
  get everOpened(): boolean {
    return this.openedAt !== NEVER;
  }

  /** The client is open now (performance.now() is noted: no timer runs while open, docs/decisions.md). */
  opened(): void {
    this.openedAt = Math.floor(performance.now());
  }

  /** The open connection has been open resetAfterMs or longer. */
  isStable(): boolean {
    return performance.now() - this.openedAt >= this.opts.reconnect.resetAfterMs;
  }

  /** The open connection is lost: if it was stable, the backoff starts again and true says the retry count must too. */
  stable(): boolean {
    if (!this.isStable()) return false;
    this.lastDelay = 0;
    return true;
  }

  /** What `giveUp` carries for `m`: ERR_RETRIES_EXHAUSTED (cause: the hook's, else the last error) or the error itself. */
  giveUpError(m: MachineIn<'failed'>, reason: ResilientError | undefined): ResilientError {
    const { why, cause: hookCause } = m.giveUp;
    if (why !== 'exhausted' && why !== 'declined') return reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost');
    const by = why === 'declined' ? 'reconnect.delay gave up' : 'gave up';
    return sdkError('ERR_RETRIES_EXHAUSTED', `${by} after ${m.retries} retries: ${reason?.code ?? 'unknown'}`, hookCause ?? reason);
  }
}
