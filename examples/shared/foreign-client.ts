/**
 * A ResilientClient for a server that is not ours, with the per-connection
 * hooks the examples rely on: `handshake(link)`, `heartbeat.answer`, an
 * `isPong` that returns the seq its pong answers, and `delivery`.
 *
 * TO REPLACE by plain `new ResilientClient<M>(options)` once ClientOptions
 * declares these hooks (issue 11, items 1-3): until then this file types them
 * exactly as the client will take them, in one place, so the examples compile.
 */
import { ResilientClient, type ClientOptions, type HeartbeatConfig } from '../../src/index';

/** What a handshake gets for one connection. */
export interface HandshakeLink<M> {
  /** Writes `m` now, ahead of everything queued. */
  send(m: M): void;
  /** The next inbound message passing `match` (every message when omitted). */
  receive(match?: (m: M) => boolean): Promise<M>;
  /** 1 on the first connection, rising with each attempt. */
  readonly attempt: number;
  /** The server kept the session (always false with a codec). */
  readonly resumed: boolean;
  /** Aborted when the connection is lost or the connect deadline passes. */
  readonly signal: AbortSignal;
}

/** The heartbeat of a codec connection, with the numbered pong and the answer hook. */
export interface ForeignHeartbeat<M> extends Omit<HeartbeatConfig<M>, 'isPong'> {
  /** false/undefined: not a pong; true: a pong; a number: the seq of the ping it answers. */
  isPong?: (m: M) => boolean | number | undefined;
  /** The reply to the server's own ping (written at once, the ping not emitted), or undefined. */
  answer?: (m: M) => M | undefined;
}

export interface ForeignOptions<M> extends Omit<ClientOptions<M>, 'heartbeat'> {
  heartbeat?: ForeignHeartbeat<M> | false;
  /** Runs on every connection before 'open' and before anything queued is written. */
  handshake?: (link: HandshakeLink<M>) => Promise<void>;
  /** 'written': send() resolves once the kernel has the bytes; 'confirmed': once a later ping is answered. @default 'written' */
  delivery?: 'written' | 'confirmed';
}

/** The options a connection-level example passes through to the client (everything but the protocol). */
export type ConnectionOptions<M> = Omit<ForeignOptions<M>, 'codec' | 'handshake' | 'heartbeat' | 'delivery'>;

export function foreignClient<M>(options: ForeignOptions<M>): ResilientClient<M> {
  return new ResilientClient<M>(options as unknown as ClientOptions<M>);
}
