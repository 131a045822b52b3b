/**
 * ResilientClient options: the one interface, its DEFAULTS, and validation
 * that throws a TypeError naming the option and the value. Each sub-object
 * has its interface and check in a file of its own: `heartbeat`
 * (heartbeat-options.ts), `reconnect` (reconnect-options.ts), `queue`
 * (core/validate.ts, shared with the server).
 */
import type { LookupFunction } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { QUEUE_DEFAULTS } from '../core/delivery';
import type { ErrorKind } from '../core/errors';
import { HEARTBEAT_DEFAULTS } from '../core/heartbeat';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/frames';
import type { Codec } from '../protocol/codec';
import type { Logger } from '../core/logger';
import { QueueConfig, checkNumber, fail, resolveQueue } from '../core/validate';
import { NETWORK_CHECK_MS } from '../io/network-watch';
import type { Endpoint } from '../io/socket';
import type { Delivery, HandshakeFn } from './handshake';
import { HeartbeatConfig, ResolvedHeartbeat, resolveHeartbeat } from './heartbeat-options';
import { RECONNECT_DEFAULTS, ReconnectOptions, ResolvedReconnect, resolveReconnect } from './reconnect-options';
import { shareResolved } from './shared-options';

export type { Endpoint, HeartbeatConfig, Logger, QueueConfig, ReconnectOptions, ResolvedHeartbeat };

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
  /** Stable id of this client, shown in the server's table. @default a UUID, distinct per client (client/client-id.ts) */
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

/**
 * The options after validation, with every default filled in. Frozen, and one
 * object for every client built from equal options (client/shared-options.ts): it
 * holds nothing of one client's own. The client id is the client's
 * (client/client-id.ts, kept by the lifecycle).
 */
export interface ResolvedOptions<M = Buffer> {
  readonly endpoints: readonly Endpoint[];
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
  reconnect: ResolvedReconnect;
  keepAliveMs: number | false;
  queue: Required<QueueConfig>;
  maxFrameBytes: number;
  closeTimeoutMs: number;
  token: string | undefined;
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
  reconnect: RECONNECT_DEFAULTS,
  queue: QUEUE_DEFAULTS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  closeTimeoutMs: 5_000,
  keepAlive: true,
  delivery: 'written' as Delivery,
});

function checkEndpoint(name: string, e: unknown): Endpoint {
  if (typeof e !== 'object' || e === null) fail(name, e, 'an object { host, port }');
  const { host, port } = e as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || host.length === 0) fail(`${name}.host`, host, 'a non-empty string');
  return { host, port: checkNumber(`${name}.port`, port, 1, { integer: true, max: 65535 }) };
}


/**
 * Validates user options (`clientId` included) and fills in DEFAULTS. Throws
 * TypeError naming the option. Returns the shared frozen object for these
 * values (client/shared-options.ts).
 */
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
  const heartbeat = input.heartbeat === false ? false : resolveHeartbeat(input.heartbeat, codec !== undefined, deadAfterMs);
  const reconnect = resolveReconnect(input.reconnect);

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
  return shareResolved<ResolvedOptions<M>>({
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
    classifyError: input.classifyError,
    signal: input.signal,
    logger: input.logger,
    unref: input.unref === true,
    random: input.random ?? Math.random,
    handshake: input.handshake,
    delivery,
  });
}
