/**
 * The retry policy as the lifecycle (client/lifecycle.ts) applies it: the
 * `lost` event a link's end raises (the user's `reconnect.delay` hook asked
 * about the retry the table would schedule, before the one transition), the
 * delay of the retry `reconnecting` waits for, the error `giveUp`
 * carries, and whether a lost connection was stable (open resetAfterMs). The decisions themselves are the table's (core/state.ts).
 *
 * Functions of the resolved options and two numbers the lifecycle keeps (when
 * it last opened, the last delay waited), not an object per client: a client
 * that never loses its connection needs no retry state beside its open time
 * (48 B per client, bench/heap-per-client.ts).
 */
import { performance } from 'node:perf_hooks';
import { askRetryDelay, backoffDelay } from '../core/backoff';
import { ResilientError, retriesAtOnce, sdkError } from '../core/errors';
import { type LostEvent, type Machine, type MachineIn, nextRetry } from '../core/state';
import type { ResolvedOptions } from './options';

/** What the retry policy reads of the client's options (the resolved options themselves, shared). */
export type RetryOptions = Pick<ResolvedOptions<unknown>, 'reconnect' | 'random'>;

/** An open time before the first open. */
export const NEVER_OPENED = -1;

/**
 * Now, as an open time: performance.now() in whole ms (a small integer, not a
 * boxed heap number per client; so a connection counts as stable up to 1 ms early).
 */
export function openedNow(): number {
  return Math.floor(performance.now());
}

/** The `lost` event for `err` in `machine`, with the user's hook's answer when a retry would follow. */
export function lostEvent(opts: RetryOptions, machine: Machine, err: ResilientError): LostEvent {
  const event: LostEvent = { type: 'lost', kind: err.kind, retryAtOnce: retriesAtOnce(err.code) };
  const hook = opts.reconnect.delay;
  const attempt = hook ? nextRetry(machine, event, opts.reconnect) : undefined;
  return hook && attempt !== undefined ? { ...event, hook: askRetryDelay(hook, attempt, err) } : event;
}

/**
 * The wait before the retry `m` is in, in ms: the hook's, 0 when immediate,
 * else the backoff's, whose decorrelated jitter grows from `lastDelay` (the
 * last delay waited; 0 after a stable connection). The caller keeps the
 * result as the next `lastDelay`.
 */
export function retryDelay(opts: RetryOptions, m: MachineIn<'reconnecting'>, lastDelay: number): number {
  return m.retry.delayMs ?? (m.retry.immediate ? 0 : backoffDelay(opts.reconnect, m.retries - 1, lastDelay, opts.random));
}

/**
 * A connection opened at `openedAt` (openedNow(); NEVER_OPENED: never) has
 * been open resetAfterMs or longer: checked when it is lost, no timer runs
 * while open (docs/decisions.md). If so, the backoff and the retry count start again.
 */
export function isStable(opts: RetryOptions, openedAt: number): boolean {
  return openedAt !== NEVER_OPENED && performance.now() - openedAt >= opts.reconnect.resetAfterMs;
}

/** What `giveUp` carries for `m`: ERR_RETRIES_EXHAUSTED (cause: the hook's, else the last error) or the error itself. */
export function giveUpError(m: MachineIn<'failed'>, reason: ResilientError | undefined): ResilientError {
  const { why, cause: hookCause } = m.giveUp;
  if (why !== 'exhausted' && why !== 'declined') return reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost');
  const by = why === 'declined' ? 'reconnect.delay gave up' : 'gave up';
  return sdkError('ERR_RETRIES_EXHAUSTED', `${by} after ${m.retries} retries: ${reason?.code ?? 'unknown'}`, hookCause ?? reason);
}
