/**
 * The `heartbeat` option of ResilientClient (client/options.ts): its
 * interface, one JSDoc (unit, default) per field, and its check (a TypeError
 * naming the option), which depends on `codec` and `deadAfterMs`.
 */
import { HEARTBEAT_DEFAULTS } from '../core/heartbeat';
import { checkNumber, fail, objectOrUndefined, sharedIfEqual } from '../core/validate';
import type { CodecHeartbeat } from '../io/codec-link';

export interface HeartbeatConfig<M = Buffer> {
  /** Time between pings, in ms. @default 5000 */
  intervalMs?: number;
  /** Inbound silence after which the link is declared dead, in ms; must exceed intervalMs. @default 15000 */
  timeoutMs?: number;
  /**
   * With a `codec` only: `'ping'` sends `createPing(seq)` every interval and
   * treats messages passing `isPong` as answers; `'inbound'` sends nothing and
   * counts any inbound bytes as liveness. @default 'ping'
   */
  mode?: 'ping' | 'inbound';
  /** With a `codec`: builds the ping message for sequence number `seq`. */
  createPing?: (seq: number) => M;
  /**
   * With a `codec`: `false`/`undefined` for "not a pong", `true` for a pong
   * (answers the oldest ping), or the seq it answers (exact RTT; a numbered
   * pong that answers none of our pings is emitted as a message). A pong is not emitted.
   */
  isPong?: (message: M) => boolean | number | undefined;
  /** With a `codec`, any mode: the reply to the server's own ping (written at once; the ping is not emitted), or undefined. */
  answer?: (message: M) => M | undefined | null;
}

/** The heartbeat after validation: the shape the links run (io/codec-link.ts). */
export type ResolvedHeartbeat<M> = CodecHeartbeat<M>;

/** The resolved heartbeat of every client that leaves it at its defaults: one frozen object, shared (memory per client). */
const SHARED_HEARTBEAT: ResolvedHeartbeat<unknown> = Object.freeze({ intervalMs: HEARTBEAT_DEFAULTS.intervalMs, timeoutMs: HEARTBEAT_DEFAULTS.timeoutMs, mode: 'ping' as const });

/**
 * Validates `heartbeat` (an object or undefined; `false` is the caller's) and fills in HEARTBEAT_DEFAULTS;
 * `deadAfterMs`, when given, sets the interval (a third of it) and the timeout. `withCodec`: a user codec is set.
 */
export function resolveHeartbeat<M>(input: HeartbeatConfig<M> | undefined, withCodec: boolean, deadAfterMs: number | undefined): ResolvedHeartbeat<M> {
  const h = objectOrUndefined('heartbeat', input) as HeartbeatConfig<M>;
  if (deadAfterMs !== undefined && (h.intervalMs !== undefined || h.timeoutMs !== undefined)) {
    fail('heartbeat.intervalMs', h.intervalMs ?? h.timeoutMs, 'left unset when deadAfterMs is given (deadAfterMs sets it)');
  }
  const intervalMs = checkNumber('heartbeat.intervalMs', h.intervalMs ?? (deadAfterMs !== undefined ? deadAfterMs / 3 : HEARTBEAT_DEFAULTS.intervalMs), 0, { exclusive: true });
  const timeoutMs = checkNumber('heartbeat.timeoutMs', h.timeoutMs ?? deadAfterMs ?? Math.max(HEARTBEAT_DEFAULTS.timeoutMs, 3 * intervalMs), 0, { exclusive: true });
  if (timeoutMs <= intervalMs) fail('heartbeat.timeoutMs', timeoutMs, `greater than heartbeat.intervalMs (${intervalMs})`);
  const mode = h.mode ?? 'ping';
  if (mode !== 'ping' && mode !== 'inbound') fail('heartbeat.mode', mode, "'ping' or 'inbound'");
  if (!withCodec) {
    if (h.createPing !== undefined || h.isPong !== undefined || h.mode !== undefined) {
      fail('heartbeat.createPing', h.createPing ?? h.isPong ?? h.mode, 'used only with a codec (the native protocol has its own ping)');
    }
  } else if (mode === 'ping') {
    if (typeof h.createPing !== 'function') fail('heartbeat.createPing', h.createPing, "a function with a codec (or set heartbeat.mode to 'inbound')");
    if (typeof h.isPong !== 'function') fail('heartbeat.isPong', h.isPong, "a function with a codec (or set heartbeat.mode to 'inbound')");
  }
  if (h.answer !== undefined && (!withCodec || typeof h.answer !== 'function')) fail('heartbeat.answer', h.answer, 'a function, with a codec');
  const resolved: ResolvedHeartbeat<M> = { intervalMs, timeoutMs, mode, ...(h.createPing ? { createPing: h.createPing } : {}), ...(h.isPong ? { isPong: h.isPong } : {}), ...(h.answer ? { answer: h.answer } : {}) };
  // The shared default holds no function of M: the same object serves every message type.
  return sharedIfEqual(resolved, SHARED_HEARTBEAT as ResolvedHeartbeat<M>);
}
