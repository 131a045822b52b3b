/**
 * A session: the server's memory of one client across its connections. It
 * outlives a dropped connection for `sessionTtlMs` so the client can resume
 * without loss or duplication.
 */
import { InboundTracker, OutboundWindow, QUEUE_DEFAULTS, QueueOptions } from '../core/delivery';
import { ResilientError, sdkError } from '../core/errors';
import { epochMark, epochOf } from './epoch';
import { ExpiryNode, expiryNode } from './expiry-list';
import type { TokenDigest } from './identity';

/** What a session wakes while connected: its open connection (server/server-link.ts). */
export interface Pump {
  pump(): void;
}

export class Session {
  /** Stable id the client presents to resume. */
  readonly id: string;
  readonly clientId: string;
  /**
   * When it was created, as epochMark() (a small integer: no heap number per
   * session), and whether it has ended: an ended session keeps -1 - mark
   * (negative), so the flag costs no field of its own (8 B per session).
   */
  private createdMark = epochMark();
  /** Messages this server has delivered from the client. */
  messagesIn = 0;
  /** Messages the client acknowledged. */
  messagesOut = 0;
  /**
   * @internal Set by the server while a connection of this session is open
   * (the connection itself: no closure per session): its pump() writes what
   * was queued. The session knows nothing else of connections.
   */
  wake: Pump | undefined = undefined;
  /** @internal The delivery state of the client's messages, made by the first DATA frame (inbound): a session that only pings holds none. */
  inboundIfAny: InboundTracker | undefined = undefined;
  /** @internal The window of sends, made by the first send (or resume): a session that only pings holds none. */
  outboundIfAny: OutboundWindow | undefined = undefined;
  /**
   * The server's queue options for the window: the prototype's QUEUE_DEFAULTS
   * (set below the class; resolveQueue returns that one object for default
   * options), an own field only for a server configured otherwise.
   */
  declare private readonly queue: QueueOptions;
  /** @internal node in the server's retention list while disconnected; made at the first disconnect. */
  retention: ExpiryNode<Session> | undefined = undefined;
  /** @internal SHA-256 of the token it was created with (server/identity.ts): a resume must present the same. */
  readonly tokenDigest: TokenDigest;

  constructor(id: string, clientId: string, queue: QueueOptions, tokenDigest: TokenDigest) {
    this.id = id;
    this.clientId = clientId;
    this.tokenDigest = tokenDigest;
    if (queue !== QUEUE_DEFAULTS) (this as unknown as { queue: QueueOptions }).queue = queue;
  }

  /** Epoch ms when the session was created. */
  get createdAt(): number {
    const mark = this.createdMark;
    return epochOf(mark < 0 ? -1 - mark : mark);
  }

  /** @internal The delivery state of the client's messages, made on first use. */
  get inbound(): InboundTracker {
    return (this.inboundIfAny ??= new InboundTracker());
  }

  /** @internal The highest message id delivered from the client (0 before any). */
  get lastDelivered(): number {
    return this.inboundIfAny?.lastDelivered ?? 0;
  }

  /** @internal The window of sends, made on first use. */
  get outbound(): OutboundWindow {
    return (this.outboundIfAny ??= new OutboundWindow(this.queue));
  }

  /** @internal The retention list's node, made on first use. */
  retentionNode(): ExpiryNode<Session> {
    return (this.retention ??= expiryNode<Session>(this));
  }

  /** True while a connection of this session is open. */
  get connected(): boolean {
    return this.wake !== undefined;
  }

  /**
   * Sends a message to the client. Resolves when the client acknowledged it;
   * held across reconnects while the session lives. Rejects with
   * ERR_QUEUE_FULL, ERR_FRAME_TOO_LARGE or ERR_CLOSED (session ended).
   */
  send(data: Buffer | Uint8Array | string): Promise<void> {
    if (this.createdMark < 0) return Promise.reject(sdkError('ERR_CLOSED', `session ${this.id} has ended`));
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise<void>((resolve, reject) => {
      if (this.outbound.enqueue(payload, Infinity, resolve, reject)) this.wake?.pump();
    });
  }

  /** @internal Ends the session: every pending send is rejected. */
  end(err: ResilientError): void {
    if (this.createdMark < 0) return;
    this.createdMark = -1 - this.createdMark;
    this.outboundIfAny?.rejectAll(err);
  }

  get isEnded(): boolean {
    return this.createdMark < 0;
  }
}

// The queue options of every session of a server with the default ones (see the field's declaration).
(Session.prototype as unknown as { queue: QueueOptions }).queue = QUEUE_DEFAULTS;
