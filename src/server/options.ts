/**
 * HeartbeatServer options, DEFAULTS and validation (TypeError naming the option).
 */
import type { TlsOptions } from 'node:tls';
import { QUEUE_DEFAULTS } from '../core/delivery';
import type { Logger } from '../core/logger';
import { QueueConfig, checkNumber, resolveQueue } from '../core/validate';
import { DEFAULT_MAX_FRAME_BYTES, MAX_HANDSHAKE_FRAME_BYTES } from '../protocol/frames';

export interface Credentials {
  clientId: string;
  token: string | undefined;
}
export interface PeerInfo {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}

export interface ServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to bind. @default undefined (Node's default: all interfaces) */
  host?: string;
  /** A connection silent (no frame at all) this long is closed, in ms. @default 30000 */
  idleTimeoutMs?: number;
  /** How often idle connections are swept, in ms. @default min(1000, min(idleTimeoutMs, handshakeTimeoutMs, frameTimeoutMs, slowConsumerMs) / 4) */
  sweepIntervalMs?: number;
  /** Time allowed from accept to a valid HELLO, in ms. @default 10000 */
  handshakeTimeoutMs?: number;
  /**
   * Time allowed for one frame to arrive completely once its first byte is in,
   * in ms: a peer trickling a frame (slowloris) is closed with ERR_FRAME_TIMEOUT
   * even though it is never idle. @default 30000
   */
  frameTimeoutMs?: number;
  /**
   * A client whose output stays blocked this long (it does not read what it
   * is sent) is dropped with ERR_SLOW_CONSUMER, in ms. While its output is
   * blocked the server stops reading from it, so its silence is not counted
   * by idleTimeoutMs. @default 30000
   */
  slowConsumerMs?: number;
  /** Cap on the ping interval the server grants clients, in ms. @default floor(idleTimeoutMs / 3) */
  heartbeatMs?: number;
  /** Connections beyond this are refused with ERR_SERVER_FULL. @default 10000 */
  maxConnections?: number;
  /** Bound on one frame's length (type + payload), in bytes. @default 1048576 */
  maxFrameBytes?: number;
  /** How long a disconnected session is kept for the client to resume, in ms. @default 60000 */
  sessionTtlMs?: number;
  /**
   * Sessions kept at once (connected or awaiting resume). A new session beyond
   * it evicts the oldest disconnected one; when every session is connected,
   * the HELLO is refused with ERR_SERVER_FULL. @default 100000
   */
  maxSessions?: number;
  /** Bounds of each session's server->client queue. */
  queue?: QueueConfig;
  /** Decides whether a HELLO's credentials are accepted. @default accept all */
  authenticate?: (credentials: Credentials, peer: PeerInfo) => boolean | Promise<boolean>;
  /** Serve TLS with these options (key, cert, ...). @default undefined (plain TCP) */
  tls?: TlsOptions;
  logger?: Logger;
}

export interface ResolvedServerOptions {
  port: number;
  host: string | undefined;
  idleTimeoutMs: number;
  sweepIntervalMs: number;
  handshakeTimeoutMs: number;
  frameTimeoutMs: number;
  slowConsumerMs: number;
  heartbeatMs: number;
  maxConnections: number;
  maxFrameBytes: number;
  sessionTtlMs: number;
  maxSessions: number;
  queue: Required<QueueConfig>;
  authenticate: ServerOptions['authenticate'];
  tls: TlsOptions | undefined;
  logger: Logger | undefined;
}

export const SERVER_DEFAULTS = Object.freeze({
  port: 0,
  idleTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
  slowConsumerMs: 30_000,
  maxConnections: 10_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  sessionTtlMs: 60_000,
  maxSessions: 100_000,
  queue: QUEUE_DEFAULTS,
});

export function resolveServerOptions(input: ServerOptions = {}): ResolvedServerOptions {
  if (typeof input !== 'object' || input === null) throw new TypeError('options must be an object');
  const d = SERVER_DEFAULTS;
  const port = checkNumber('port', input.port ?? d.port, 0, { integer: true, max: 65535 });
  if (input.host !== undefined && (typeof input.host !== 'string' || input.host.length === 0)) {
    throw new TypeError(`options.host must be a non-empty string, got ${String(input.host)}`);
  }
  const idleTimeoutMs = checkNumber('idleTimeoutMs', input.idleTimeoutMs ?? d.idleTimeoutMs, 0, { exclusive: true });
  const handshakeTimeoutMs = checkNumber('handshakeTimeoutMs', input.handshakeTimeoutMs ?? d.handshakeTimeoutMs, 0, { exclusive: true });
  const frameTimeoutMs = checkNumber('frameTimeoutMs', input.frameTimeoutMs ?? d.frameTimeoutMs, 0, { exclusive: true });
  // A quarter of the shortest timeout: each is enforced within +25%.
  const slowConsumerMs = checkNumber('slowConsumerMs', input.slowConsumerMs ?? d.slowConsumerMs, 0, { exclusive: true });
  const shortest = Math.min(idleTimeoutMs, handshakeTimeoutMs, frameTimeoutMs, slowConsumerMs);
  const sweepIntervalMs = checkNumber('sweepIntervalMs', input.sweepIntervalMs ?? Math.min(1000, shortest / 4), 0, {
    exclusive: true,
  });
  const heartbeatMs = checkNumber('heartbeatMs', input.heartbeatMs ?? Math.max(1, Math.floor(idleTimeoutMs / 3)), 1, {
    integer: true,
  });
  if (heartbeatMs >= idleTimeoutMs) {
    throw new TypeError(`options.heartbeatMs must be less than idleTimeoutMs (${idleTimeoutMs}), got ${heartbeatMs}`);
  }
  const queue = resolveQueue(input.queue);
  if (input.authenticate !== undefined && typeof input.authenticate !== 'function') {
    throw new TypeError('options.authenticate must be a function');
  }
  if (input.tls !== undefined && (typeof input.tls !== 'object' || input.tls === null)) {
    throw new TypeError('options.tls must be tls.createServer options');
  }
  return {
    port,
    host: input.host,
    idleTimeoutMs,
    sweepIntervalMs,
    handshakeTimeoutMs,
    frameTimeoutMs,
    slowConsumerMs,
    heartbeatMs,
    maxConnections: checkNumber('maxConnections', input.maxConnections ?? d.maxConnections, 1, { integer: true }),
    maxFrameBytes: checkNumber('maxFrameBytes', input.maxFrameBytes ?? d.maxFrameBytes, MAX_HANDSHAKE_FRAME_BYTES, {
      integer: true,
      max: 0xffffffff,
    }),
    sessionTtlMs: checkNumber('sessionTtlMs', input.sessionTtlMs ?? d.sessionTtlMs, 0),
    maxSessions: checkNumber('maxSessions', input.maxSessions ?? d.maxSessions, 1, { integer: true }),
    queue,
    authenticate: input.authenticate,
    tls: input.tls,
    logger: input.logger,
  };
}
