/**
 * ResilientClient options: the one interface, its DEFAULTS, and validation
 * that throws a TypeError naming the option and the value. Over 300 lines: most of it is the
 * interface, one JSDoc (unit, default) per option; the checks shared with the
 * server are in core/validate.ts. Over 300 lines: the interface's JSDoc is
 * the option reference, and splitting it would scatter one table.
 */
import type { LookupFunction } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { BACKOFF_DEFAULTS, Jitter, RetryDelayHook } from '../core/backoff';
import { QUEUE_DEFAULTS } from '../core/delivery';
import type { ErrorKind } from '../core/errors';
import { HEARTBEAT_DEFAULTS } from '../core/heartbeat';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/frames';
import type { Codec } from '../protocol/codec';
import type { Logger } from '../core/logger';
import { QueueConfig, checkNumber, fail, objectOrUndefined, resolveQueue, sharedIfEqual } from '../core/validate';
import type { CodecHeartbeat } from '../io/codec-link';
import { NETWORK_CHECK_MS } from '../io/network-watch';
import type { Endpoint } from '../io/socket';
import type { Delivery, HandshakeFn } from './handshake';

export type { Endpoint, Logger, QueueConfig };

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

export interface ClientOptions<M = Buffer> {
  /** Server host (with `port`), or use `endpoints`. @default 'localhost' */
  host?: string;
  /** Server port, 1..65535. */
  port?: number;
  /**
   * Servers tried in order, moving on after each failed attempt; after an open
   * connection is lost the first is tried again. Host names are resolved anew
   * on every attempt.
   */
  endpoints?: Endpoint[];
  /** Try `endpoints` in a random order (shuffled once per round). @default false */
  randomize?: boolean;
  /**
   * A server that speaks its own protocol: the codec frames messages; there is
   * no handshake, no ids and no acks (send() resolves once written), and the
   * heartbeat uses `heartbeat.createPing` / `isPong` or `mode: 'inbound'`.
   * @default undefined (the native protocol)
   */
  codec?: Codec<M>;
  /**
   * One liveness budget, in ms: sets heartbeat.intervalMs = deadAfterMs / 3,
   * heartbeat.timeoutMs = deadAfterMs, the TCP keepalive initial delay, and on
   * Linux TCP_USER_TIMEOUT = deadAfterMs when the optional `net-keepalive`
   * package is installed (so unacknowledged data in flight also fails within
   * the budget). Cannot be combined with heartbeat.intervalMs / timeoutMs.
   */
  deadAfterMs?: number;
  /** TLS: `true` for defaults, or Node's tls.connect options. @default undefined (plain TCP) */
  tls?: boolean | TlsConnectionOptions;
  /**
   * Host name resolution, called afresh on every connection attempt (so a
   * host whose address changed is followed): Node's `dns.lookup` signature,
   * for a cache, service discovery or a fixed answer. @default dns.lookup
   */
  lookup?: LookupFunction;
  /** Bound on TCP (+TLS) connect plus handshake, in ms. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Time for one frame from the server to arrive completely once its first
   * byte is in, in ms, or `false` for no bound: a server trickling a frame is
   * never silent, yet delivers nothing (ERR_FRAME_TIMEOUT, then reconnect).
   * Native protocol only (a user codec's partial frames are not visible).
   * @default 30000
   */
  frameTimeoutMs?: number | false;
  /**
   * How often to check that the socket's local address is still on an
   * interface, in ms, or `false` to never check; a gone address drops the
   * connection at once (ERR_NETWORK_CHANGED). @default 2000
   */
  networkCheckMs?: number | false;
  /**
   * Heartbeat schedule, or `false`: the client then never declares the link
   * dead itself (only TCP keepalive does); against a HeartbeatServer it still
   * pings at the interval the server asks for, so the server does not sweep it.
   */
  heartbeat?: HeartbeatConfig<M> | false;
  /** Reconnect policy, or `false` to end in `failed` on the first loss. */
  reconnect?: ReconnectOptions | false;
  /** TCP keepalive: `true` (initial delay = heartbeat timeout), `false`, or the initial delay in ms. @default true */
  keepAlive?: boolean | number;
  /** Bounds of the outbound queue. */
  queue?: QueueConfig;
  /** Bound on one frame's length (type + payload), in bytes, both directions. @default 1048576 */
  maxFrameBytes?: number;
  /** How long close() waits for unacknowledged messages to be acked, in ms. @default 5000 */
  closeTimeoutMs?: number;
  /** Credential sent in HELLO for the server's `authenticate` hook. */
  token?: string;
  /** Stable id of this client, shown in the server's table. @default a random UUID */
  clientId?: string;
  /** Overrides the default classification; return undefined to fall back to it. */
  classifyError?: (err: unknown) => ErrorKind | undefined;
  /** Aborting it closes the client. */
  signal?: AbortSignal;
  /** Receives a line per state change and per connection error. */
  logger?: Logger;
  /** Unref the client's timers so a reconnecting client does not keep the process alive. @default false */
  unref?: boolean;
  /** Random source in [0, 1) for backoff jitter (tests inject one). @default Math.random */
  random?: () => number;
  /**
   * Runs on every connection, after TCP/TLS (native protocol: after WELCOME)
   * and before `open`: its `link.send` goes ahead of the queue, which is held
   * until it resolves (client/handshake.ts). Counts within connectTimeoutMs. @default undefined
   */
  handshake?: HandshakeFn<M>;
  /** With a codec: `'written'` resolves send() once the kernel has the bytes; `'confirmed'` on a pong to a later ping. @default 'written' */
  delivery?: Delivery;
}

/** The heartbeat after validation: the shape the links run (io/codec-link.ts). */
export type ResolvedHeartbeat<M> = CodecHeartbeat<M>;

export interface ResolvedOptions<M = Buffer> {
  endpoints: Endpoint[];
  randomize: boolean;
  codec: Codec<M> | undefined;
  /** TCP_USER_TIMEOUT to set when the platform and net-keepalive allow it. */
  userTimeoutMs: number | undefined;
  tls: TlsConnectionOptions | undefined;
  lookup: LookupFunction | undefined;
  connectTimeoutMs: number;
  frameTimeoutMs: number | undefined;
  networkCheckMs: number | false;
  heartbeat: ResolvedHeartbeat<M> | false;
  reconnect: Required<Omit<ReconnectOptions, 'delay'>> & { enabled: boolean; delay: RetryDelayHook | undefined };
  keepAliveMs: number | false;
  queue: Required<QueueConfig>;
  maxFrameBytes: number;
  closeTimeoutMs: number;
  token: string | undefined;
  clientId: string;
  classifyError: ((err: unknown) => ErrorKind | undefined) | undefined;
  signal: AbortSignal | undefined;
  logger: Logger | undefined;
  unref: boolean;
  random: () => number;
  handshake: HandshakeFn<M> | undefined;
  delivery: Delivery;
}

/** Every default in one place. */
export const DEFAULTS = Object.freeze({
  connectTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
  networkCheckMs: NETWORK_CHECK_MS,
  heartbeat: HEARTBEAT_DEFAULTS,
  reconnect: Object.freeze({ maxRetries: Infinity, resetAfterMs: 5_000, ...BACKOFF_DEFAULTS }),
  queue: QUEUE_DEFAULTS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  closeTimeoutMs: 5_000,
  keepAlive: true,
  delivery: 'written' as Delivery,
});

/** The resolved heartbeat and reconnect of a client that leaves them at their defaults: one frozen object each, shared. */
const SHARED_HEARTBEAT: ResolvedHeartbeat<unknown> = Object.freeze({ intervalMs: DEFAULTS.heartbeat.intervalMs, timeoutMs: DEFAULTS.heartbeat.timeoutMs, mode: 'ping' as const });
const SHARED_RECONNECT: ResolvedOptions['reconnect'] = Object.freeze({ enabled: true, ...DEFAULTS.reconnect, delay: undefined });

const JITTERS: readonly Jitter[] = ['full', 'equal', 'decorrelated', 'none'];

function checkEndpoint(name: string, e: unknown): Endpoint {
  if (typeof e !== 'object' || e === null) fail(name, e, 'an object { host, port }');
  const { host, port } = e as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || host.length === 0) fail(`${name}.host`, host, 'a non-empty string');
  return { host, port: checkNumber(`${name}.port`, port, 1, { integer: true, max: 65535 }) };
}

/** Validates user options and fills in DEFAULTS. Throws TypeError naming the option. */
export function resolveOptions<M = Buffer>(input: ClientOptions<M>): ResolvedOptions<M> {
  if (typeof input !== 'object' || input === null) throw new TypeError('options must be an object');
  let endpoints: Endpoint[];
  if (input.endpoints !== undefined) {
    if (!Array.isArray(input.endpoints) || input.endpoints.length === 0) fail('endpoints', input.endpoints, 'a non-empty array');
    endpoints = input.endpoints.map((e, i) => checkEndpoint(`endpoints[${i}]`, e));
  } else {
    const host = input.host ?? 'localhost';
    if (typeof host !== 'string' || host.length === 0) fail('host', host, 'a non-empty string');
    endpoints = [{ host, port: checkNumber('port', input.port, 1, { integer: true, max: 65535 }) }];
  }

  const connectTimeoutMs = checkNumber('connectTimeoutMs', input.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs, 0, { exclusive: true });
  const frameTimeoutMs =
    input.frameTimeoutMs === false ? undefined : checkNumber('frameTimeoutMs', input.frameTimeoutMs ?? DEFAULTS.frameTimeoutMs, 0, { exclusive: true });
  const networkCheckMs =
    input.networkCheckMs === false ? false : checkNumber('networkCheckMs', input.networkCheckMs ?? DEFAULTS.networkCheckMs, 0, { exclusive: true });

  const codec = input.codec;
  if (codec !== undefined && (typeof codec !== 'object' || codec === null || typeof codec.encode !== 'function' || typeof codec.decoder !== 'function')) {
    fail('codec', codec, 'an object with encode(message) and decoder()');
  }
  let deadAfterMs: number | undefined;
  if (input.deadAfterMs !== undefined) {
    deadAfterMs = checkNumber('deadAfterMs', input.deadAfterMs, 0, { exclusive: true });
    if (input.heartbeat === false) fail('deadAfterMs', deadAfterMs, 'used with heartbeats (it sets them); remove heartbeat: false');
  }

  let heartbeat: ResolvedOptions<M>['heartbeat'] = false;
  if (input.heartbeat !== false) {
    const h = objectOrUndefined('heartbeat', input.heartbeat) as HeartbeatConfig<M>;
    if (deadAfterMs !== undefined && (h.intervalMs !== undefined || h.timeoutMs !== undefined)) {
      fail('heartbeat.intervalMs', h.intervalMs ?? h.timeoutMs, 'left unset when deadAfterMs is given (deadAfterMs sets it)');
    }
    const intervalMs = checkNumber('heartbeat.intervalMs', h.intervalMs ?? (deadAfterMs !== undefined ? deadAfterMs / 3 : DEFAULTS.heartbeat.intervalMs), 0, { exclusive: true });
    const timeoutMs = checkNumber('heartbeat.timeoutMs', h.timeoutMs ?? deadAfterMs ?? Math.max(DEFAULTS.heartbeat.timeoutMs, 3 * intervalMs), 0, { exclusive: true });
    if (timeoutMs <= intervalMs) fail('heartbeat.timeoutMs', timeoutMs, `greater than heartbeat.intervalMs (${intervalMs})`);
    const mode = h.mode ?? 'ping';
    if (mode !== 'ping' && mode !== 'inbound') fail('heartbeat.mode', mode, "'ping' or 'inbound'");
    if (codec === undefined) {
      if (h.createPing !== undefined || h.isPong !== undefined || h.mode !== undefined) {
        fail('heartbeat.createPing', h.createPing ?? h.isPong ?? h.mode, 'used only with a codec (the native protocol has its own ping)');
      }
    } else if (mode === 'ping') {
      if (typeof h.createPing !== 'function') fail('heartbeat.createPing', h.createPing, "a function with a codec (or set heartbeat.mode to 'inbound')");
      if (typeof h.isPong !== 'function') fail('heartbeat.isPong', h.isPong, "a function with a codec (or set heartbeat.mode to 'inbound')");
    }
    if (h.answer !== undefined && (codec === undefined || typeof h.answer !== 'function')) fail('heartbeat.answer', h.answer, 'a function, with a codec');
    heartbeat = sharedIfEqual<ResolvedHeartbeat<M>>(
      { intervalMs, timeoutMs, mode, ...(h.createPing ? { createPing: h.createPing } : {}), ...(h.isPong ? { isPong: h.isPong } : {}), ...(h.answer ? { answer: h.answer } : {}) },
      // It holds no function of M: the same object serves every message type.
      SHARED_HEARTBEAT as ResolvedHeartbeat<M>,
    );
  }

  const r = input.reconnect === false ? {} : objectOrUndefined('reconnect', input.reconnect);
  const d = DEFAULTS.reconnect;
  const initialDelayMs = checkNumber('reconnect.initialDelayMs', r.initialDelayMs ?? d.initialDelayMs, 0);
  const reconnect = sharedIfEqual<ResolvedOptions['reconnect']>({
    enabled: input.reconnect !== false,
    maxRetries: checkNumber('reconnect.maxRetries', r.maxRetries ?? d.maxRetries, 0, { integer: true, allowInfinity: true }),
    initialDelayMs,
    maxDelayMs: checkNumber('reconnect.maxDelayMs', r.maxDelayMs ?? Math.max(d.maxDelayMs, initialDelayMs), initialDelayMs),
    multiplier: checkNumber('reconnect.multiplier', r.multiplier ?? d.multiplier, 1),
    jitter: (r.jitter ?? d.jitter) as Jitter,
    resetAfterMs: checkNumber('reconnect.resetAfterMs', r.resetAfterMs ?? d.resetAfterMs, 0),
    delay: r.delay as RetryDelayHook | undefined,
  }, SHARED_RECONNECT);
  if (reconnect.delay !== undefined && typeof reconnect.delay !== 'function') fail('reconnect.delay', reconnect.delay, 'a function (attempt, error) => number | false');
  if (!JITTERS.includes(reconnect.jitter)) fail('reconnect.jitter', reconnect.jitter, `one of ${JITTERS.join(', ')}`);

  let keepAliveMs: number | false;
  const ka = input.keepAlive ?? DEFAULTS.keepAlive;
  if (ka === false) keepAliveMs = false;
  else if (ka === true) keepAliveMs = deadAfterMs ?? (heartbeat ? heartbeat.timeoutMs : 15_000);
  else keepAliveMs = checkNumber('keepAlive', ka, 0);

  const queue = resolveQueue(input.queue);

  const maxFrameBytes = checkNumber('maxFrameBytes', input.maxFrameBytes ?? DEFAULTS.maxFrameBytes, 64, { integer: true, max: 0xffffffff });
  const closeTimeoutMs = checkNumber('closeTimeoutMs', input.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs, 0);

  if (input.token !== undefined && typeof input.token !== 'string') fail('token', input.token, 'a string');
  if (input.clientId !== undefined && (typeof input.clientId !== 'string' || input.clientId.length === 0 || input.clientId.length > 256)) {
    fail('clientId', input.clientId, 'a string of 1..256 characters');
  }
  if (input.classifyError !== undefined && typeof input.classifyError !== 'function') fail('classifyError', input.classifyError, 'a function');
  if (input.signal !== undefined && !(input.signal instanceof AbortSignal)) fail('signal', input.signal, 'an AbortSignal');
  if (input.random !== undefined && typeof input.random !== 'function') fail('random', input.random, 'a function');
  if (input.lookup !== undefined && typeof input.lookup !== 'function') fail('lookup', input.lookup, 'a function (dns.lookup signature)');
  if (input.logger !== undefined) {
    for (const m of ['debug', 'info', 'warn', 'error'] as const) {
      if (typeof (input.logger as unknown as Record<string, unknown>)[m] !== 'function') fail(`logger.${m}`, undefined, 'a function');
    }
  }
  let tls: TlsConnectionOptions | undefined;
  if (input.tls === true) tls = {};
  else if (input.tls === false || input.tls === undefined) tls = undefined;
  else if (typeof input.tls === 'object' && input.tls !== null) tls = input.tls;
  else fail('tls', input.tls, 'a boolean or tls.connect options');

  if (input.randomize !== undefined && typeof input.randomize !== 'boolean') fail('randomize', input.randomize, 'a boolean');
  if (input.handshake !== undefined && typeof input.handshake !== 'function') fail('handshake', input.handshake, 'a function (link) => Promise<void>');
  const delivery = input.delivery ?? DEFAULTS.delivery;
  if (delivery !== 'written' && delivery !== 'confirmed') fail('delivery', delivery, "'written' or 'confirmed'");
  if (delivery === 'confirmed' && !(heartbeat && heartbeat.mode === 'ping' && codec)) fail('delivery', delivery, "'written' unless a codec has heartbeat createPing and isPong");
  return {
    endpoints,
    randomize: input.randomize === true,
    codec,
    userTimeoutMs: deadAfterMs,
    tls,
    lookup: input.lookup,
    connectTimeoutMs,
    frameTimeoutMs,
    networkCheckMs,
    heartbeat,
    reconnect,
    keepAliveMs,
    queue,
    maxFrameBytes,
    closeTimeoutMs,
    token: input.token,
    clientId: input.clientId ?? randomUUID(),
    classifyError: input.classifyError,
    signal: input.signal,
    logger: input.logger,
    unref: input.unref === true,
    random: input.random ?? Math.random,
    handshake: input.handshake,
    delivery,
  };
}
