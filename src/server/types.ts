/**
 * The types of HeartbeatServer's events and connection table.
 */
import type { ResilientError } from '../core/errors';
import type { MessageBatch } from './batch';
import type { Session } from './session';

export interface ConnectionInfo {
  /** The session id. */
  id: string;
  clientId: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** Epoch ms when this connection was accepted. */
  connectedAt: number;
  /** Epoch ms of the last inbound byte. */
  lastSeenAt: number;
  /** The client's last measured round trip, in ms (reported in its pings). */
  rttMs: number | undefined;
  messagesIn: number;
  messagesOut: number;
}

export interface ServerMessageMeta {
  id: number;
  sessionId: string;
}

export interface ServerEvents {
  listening: (address: { host: string; port: number }) => void;
  /** A session's connection completed its handshake. */
  connection: (session: Session, info: { resumed: boolean; remoteAddress: string | undefined; remotePort: number | undefined }) => void;
  /** A session's connection ended (the session itself may resume within sessionTtlMs). */
  disconnect: (session: Session, error: ResilientError | undefined) => void;
  /** A session ended for good: BYE, expiry or server close. */
  sessionEnd: (session: Session, reason: ResilientError | undefined) => void;
  /** A client message was delivered (duplicates are dropped before). A view and a meta object per message: for many small messages, see `messages`. */
  message: (session: Session, payload: Buffer, meta: ServerMessageMeta) => void;
  /**
   * The new messages one socket read delivered from `session`, in order,
   * once per read (after their `message` events, before their ACK). `batch`
   * is reused: read it during the call (its payload views may be kept).
   */
  messages: (session: Session, batch: MessageBatch) => void;
  /** A connection was refused or failed (bad frames, auth, capacity). Informational. */
  error: (err: ResilientError, peer: { remoteAddress: string | undefined; remotePort: number | undefined }) => void;
  close: () => void;
}
