/**
 * The types of ResilientClient's events, stats and per-call options.
 */
import type { ResilientError } from '../core/errors';
import type { ClientState } from '../core/state';

export interface StateChangeEvent {
  from: ClientState;
  to: ClientState;
  reason?: ResilientError;
}
export interface OpenEvent {
  /** The session (undefined with a user codec, which has no sessions). */
  sessionId: string | undefined;
  /** True when the server still had the session: nothing was lost. */
  resumed: boolean;
  /** Retries it took to get here (0: first try). */
  attempt: number;
}
export interface CloseEvent {
  error?: ResilientError;
  willReconnect: boolean;
}
export interface ReconnectingEvent {
  /** 1-based number of this retry. */
  attempt: number;
  delayMs: number;
  error: ResilientError;
}
export interface MessageMeta {
  /** The sender's id for this message: stable across resends. */
  id: number;
  /** The session it arrived in. */
  /** The session (undefined with a user codec, which has no sessions). */
  sessionId: string | undefined;
}

export interface ClientEvents<M = Buffer> {
  stateChange: (e: StateChangeEvent) => void;
  open: (e: OpenEvent) => void;
  close: (e: CloseEvent) => void;
  reconnecting: (e: ReconnectingEvent) => void;
  message: (payload: M, meta: MessageMeta) => void;
  heartbeat: (e: { rttMs: number }) => void;
  giveUp: (err: ResilientError) => void;
  error: (err: ResilientError) => void;
  dropped: (e: { payload: Buffer; error: ResilientError }) => void;
}

export interface ClientStats {
  state: ClientState;
  sessionId: string | undefined;
  /** Connections opened after the first one. */
  reconnects: number;
  /** Consecutive retries since the last stable connection. */
  retries: number;
  lastRttMs: number | undefined;
  queued: number;
  inFlight: number;
  queuedBytes: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  duplicatesDropped: number;
  /** The liveness layers in force. */
  layers: LivenessLayers;
}

export interface SendOptions {
  /** Reject with ERR_MESSAGE_EXPIRED if not written within this many ms. */
  ttlMs?: number;
  /** Aborting it withdraws the message if it was not written yet (rejects with ERR_ABORTED). */
  signal?: AbortSignal;
}

/** Which liveness layers are active on the current connection. */
export interface LivenessLayers {
  /** Application heartbeat (ping/pong, or inbound activity). */
  heartbeat: boolean;
  /** TCP keepalive (initial delay in ms), or false. */
  keepAliveMs: number | false;
  /** TCP_USER_TIMEOUT in ms when set (Linux with the optional net-keepalive package), else false. */
  userTimeoutMs: number | false;
}

