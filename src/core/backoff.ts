/**
 * Backoff between reconnect attempts, as pure functions of the attempt number,
 * the previous delay and an injected random source.
 *
 *   base(n) = min(maxDelayMs, initialDelayMs * multiplier^n)
 *
 * then jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015):
 * - `full`: uniform in [0, base(n)] — spreads a reconnect storm best (default);
 * - `equal`: base/2 + uniform in [0, base/2];
 * - `decorrelated`: uniform in [initialDelayMs, previous * 3], capped;
 * - `none`: base(n) exactly.
 */

export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

export interface BackoffOptions {
  /** Base of the first retry delay, in ms. */
  initialDelayMs: number;
  /** Upper bound of any delay, in ms. */
  maxDelayMs: number;
  /** Growth factor per attempt (>= 1). */
  multiplier: number;
  /** Jitter strategy. */
  jitter: Jitter;
}

export const BACKOFF_DEFAULTS: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 'full',
});

/** A number in [0, 1). */
export type RandomSource = () => number;

/** The un-jittered delay before retry `attempt` (0-based), capped at maxDelayMs. */
export function baseDelay(opts: BackoffOptions, attempt: number): number {
  // Math.pow overflows to Infinity for large attempts; min() keeps it capped.
  const raw = opts.initialDelayMs * Math.pow(opts.multiplier, Math.max(0, attempt));
  return Math.min(opts.maxDelayMs, Number.isFinite(raw) ? raw : opts.maxDelayMs);
}

/**
 * The delay in ms before retry `attempt` (0-based). `previousMs` is the delay
 * used last time (decorrelated jitter needs it). Always in [0, maxDelayMs].
 */
export function backoffDelay(
  opts: BackoffOptions,
  attempt: number,
  previousMs: number,
  random: RandomSource = Math.random,
): number {
  const base = baseDelay(opts, attempt);
  const r = clampUnit(random());
  let delay: number;
  switch (opts.jitter) {
    case 'none':
      delay = base;
      break;
    case 'full':
      delay = r * base;
      break;
    case 'equal':
      delay = base / 2 + (r * base) / 2;
      break;
    case 'decorrelated': {
      const low = Math.min(opts.initialDelayMs, opts.maxDelayMs);
      const high = Math.max(low, Math.max(previousMs, low) * 3);
      delay = low + r * (high - low);
      break;
    }
  }
  return Math.round(Math.min(opts.maxDelayMs, Math.max(0, delay)));
}

function clampUnit(x: number): number {
  if (!(x >= 0)) return 0;
  return x >= 1 ? 0.999999999 : x;
}

/**
 * A user's retry policy (ioredis `retryStrategy`): the delay in ms before
 * retry `attempt` (1-based) after `error`, or `false` to give up.
 */
export type RetryDelayHook = (attempt: number, error: Error) => number | false;

/** Node's largest timer delay (2^31 - 1 ms); a longer one fires after 1 ms (Node docs, `setTimeout`). */
export const MAX_TIMER_MS = 2_147_483_647;

/** What a `RetryDelayHook` decided: wait `delayMs`, or give up (`cause` set when the hook threw or returned a non-delay). */
export type HookDecision = { readonly delayMs: number } | { readonly giveUp: true; readonly cause?: Error };

/** Calls the hook; a throw or a value that is not `false` nor an integer-able delay in [0, MAX_TIMER_MS] gives up with a TypeError (or the thrown error) as the cause. */
export function askRetryDelay(hook: RetryDelayHook, attempt: number, error: Error): HookDecision {
  let value: unknown;
  try {
    value = hook(attempt, error);
  } catch (thrown) {
    return { giveUp: true, cause: thrown instanceof Error ? thrown : new Error(String(thrown)) };
  }
  if (value === false) return { giveUp: true };
  if (typeof value === 'number' && value >= 0 && value <= MAX_TIMER_MS) return { delayMs: Math.round(value) };
  return { giveUp: true, cause: new TypeError(`reconnect.delay returned ${String(value)}: expected false or a number of ms in [0, ${MAX_TIMER_MS}]`) };
}
