/**
 * The `reconnect` option of ResilientClient (client/options.ts): its
 * interface, one JSDoc (unit, default) per field, its defaults and its check
 * (a TypeError naming the option), like `queue` in core/validate.ts.
 */
import { BACKOFF_DEFAULTS, Jitter, RetryDelayHook } from '../core/backoff';
import { checkNumber, fail, objectOrUndefined, sharedIfEqual } from '../core/validate';

export interface ReconnectOptions {
  /** Consecutive failed attempts retried before giving up; `Infinity` allowed. @default Infinity */
  maxRetries?: number;
  /** Base of the first backoff delay, in ms. @default 500 */
  initialDelayMs?: number;
  /** Upper bound of any backoff delay, in ms. @default 30000 */
  maxDelayMs?: number;
  /** Growth factor per attempt (>= 1). @default 2 */
  multiplier?: number;
  /** Jitter strategy. @default 'full' */
  jitter?: Jitter;
  /** A connection open this long resets the retry count, in ms. @default 5000 */
  resetAfterMs?: number;
  /** Your retry policy (ioredis `retryStrategy`): ms before retry `attempt` (1-based), instead of the backoff; `false` gives up. @default undefined */
  delay?: RetryDelayHook;
}

/** `reconnect` after validation; `enabled` is false for `reconnect: false`. */
export type ResolvedReconnect = Required<Omit<ReconnectOptions, 'delay'>> & { enabled: boolean; delay: RetryDelayHook | undefined };

/** The defaults of `reconnect` (part of the client's DEFAULTS). */
export const RECONNECT_DEFAULTS = Object.freeze({ maxRetries: Infinity, resetAfterMs: 5_000, ...BACKOFF_DEFAULTS });

const JITTERS: readonly Jitter[] = ['full', 'equal', 'decorrelated', 'none'];

/** The resolved `reconnect` of every client that leaves it at its defaults: one frozen object, shared (memory per client). */
const SHARED_RECONNECT: ResolvedReconnect = Object.freeze({ enabled: true, ...RECONNECT_DEFAULTS, delay: undefined });

/** Validates `reconnect` (an object, `false` or undefined) and fills in RECONNECT_DEFAULTS (the shared object when equal). */
export function resolveReconnect(input: ReconnectOptions | false | undefined): ResolvedReconnect {
  const r = input === false ? {} : objectOrUndefined('reconnect', input);
  const d = RECONNECT_DEFAULTS;
  const initialDelayMs = checkNumber('reconnect.initialDelayMs', r.initialDelayMs ?? d.initialDelayMs, 0);
  const reconnect = {
    enabled: input !== false,
    maxRetries: checkNumber('reconnect.maxRetries', r.maxRetries ?? d.maxRetries, 0, { integer: true, allowInfinity: true }),
    initialDelayMs,
    maxDelayMs: checkNumber('reconnect.maxDelayMs', r.maxDelayMs ?? Math.max(d.maxDelayMs, initialDelayMs), initialDelayMs),
    multiplier: checkNumber('reconnect.multiplier', r.multiplier ?? d.multiplier, 1),
    jitter: (r.jitter ?? d.jitter) as Jitter,
    resetAfterMs: checkNumber('reconnect.resetAfterMs', r.resetAfterMs ?? d.resetAfterMs, 0),
    delay: r.delay as RetryDelayHook | undefined,
  };
  if (reconnect.delay !== undefined && typeof reconnect.delay !== 'function') fail('reconnect.delay', reconnect.delay, 'a function (attempt, error) => number | false');
  if (!JITTERS.includes(reconnect.jitter)) fail('reconnect.jitter', reconnect.jitter, `one of ${JITTERS.join(', ')}`);
  return sharedIfEqual(reconnect, SHARED_RECONNECT);
}
