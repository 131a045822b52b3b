/**
 * The soak's numbers, in one place because they depend on each other: the
 * latency bound and the black-hole duration follow from the heartbeat, the
 * server's sweep from its idle timeout, and the guards sit far above what a
 * working system needs.
 */
import type { FaultKind } from '../support/fault-proxy';
import type { Range } from './dice';

/** Client heartbeat: a dead link is declared after 1.5 s of silence. */
export const HEARTBEAT = { intervalMs: 250, timeoutMs: 1500 };
/** Server: a connection silent for 3 s is dropped; swept every 750 ms (idle / 4). */
export const SERVER_IDLE_MS = 3000;
export const SERVER_SWEEP_MS = SERVER_IDLE_MS / 4;
export const RECONNECT = { initialDelayMs: 50, maxDelayMs: 1000, jitter: 'full' as const };
/** Each side sends at most one message per tick and holds at most WINDOW unacked. */
export const TICK_MS = 100;
export const WINDOW = 4;
/** Payload padding 0..PAD_MAX bytes, so frames differ in size and limitData cuts them mid-frame. */
export const PAD_MAX = 120;
/** Gap between two faults on one proxy (after the previous one was lifted). */
export const FAULT_GAP_MS: Range = [200, 2000];
/**
 * One-way latency + jitter stays at or below a third of the heartbeat timeout:
 * a ping's round trip (2 × 500 ms) plus a ping interval (250 ms) is under the
 * 1500 ms timeout, so latency alone never trips the heartbeat.
 */
export const LATENCY_MAX_MS = HEARTBEAT.timeoutMs / 3;
/** Server downtime during a restart (a chaos parameter, not a wait). */
export const RESTART_DOWNTIME_MS: Range = [200, 600];
/** Guard on the drain after the chaos: it only fires when a message is stuck. */
export const DRAIN_GUARD_MS = 20_000;
export const KEEP_VIOLATIONS = 50;
/** The warm-up run before the heap baseline (see runSoak). */
export const WARMUP_SECONDS = 2;
export const WARMUP_CLIENTS = 4;
/** Guard on detecting a black hole: only fires when neither heartbeat nor idle sweep works. */
export const DETECTION_GUARD_MS = 10_000;
/** Guard on closing clients, proxies and the server: each closes in well under a second. */
export const CLOSE_GUARD_MS = 10_000;

export const FAULT_KINDS: readonly FaultKind[] = ['latency', 'blackhole', 'reset', 'slice', 'limitData', 'slowClose', 'bandwidth'];
/** Codes that must never appear under these faults: they would mean a corrupted stream or a client that gave up. */
export const FORBIDDEN_CODES = new Set(['ERR_PROTOCOL', 'ERR_FRAME_TOO_LARGE', 'ERR_PROTOCOL_VERSION']);
/**
 * A client must never *receive* ERR_SESSION_TAKEN_OVER: only one client holds
 * a session, and its old link is dead to it before it reconnects. The server,
 * though, reports it (its 'error' event) each time it evicts a stale
 * connection because the client came back before the old one's close reached
 * it (a slow close, or a loaded process): that is the takeover working, counted
 * in the summary, not a violation.
 */
export const FORBIDDEN_CLIENT_CODES = new Set([...FORBIDDEN_CODES, 'ERR_SESSION_TAKEN_OVER']);
