/**
 * The client's link for the native protocol: the socket half from link.ts,
 * the protocol's rules from protocol/peer.ts (shared with the server). This
 * file only turns the endpoint's events into the link's hooks. The link is
 * its peer's events object itself (PeerEvents): methods, no closures per link.
 */
import type { InboundTracker } from '../core/delivery';
import { ResilientError, sdkError } from '../core/errors';
import { type Hello, PROTOCOL_VERSION, type PingPayload, type Welcome } from '../protocol/frames';
import { NativePeer, PartialFrame, PeerEvents, agreedHeartbeat, payloadLimit } from '../protocol/peer';
import { Link, type LinkHeartbeat, type LinkHooks, type LinkOptions } from './link';
import type { Endpoint } from './socket';

/** What the native link reads of the client's options (the resolved options themselves). */
export interface NativeLinkOptions extends LinkOptions {
  heartbeat: LinkHeartbeat | false;
  maxFrameBytes: number;
  /** The HELLO's credential (the HELLO itself is built when the socket is ready, and not kept). */
  token: string | undefined;
}

/** What the native link reads from its owner besides LinkHooks: the HELLO's ids and the session's inbound tracker (no copy per link). */
export interface NativeSession {
  /** The client's id, sent in every HELLO. */
  readonly clientId: string;
  /** The session to resume, if any: read when the HELLO is written. */
  readonly sessionId: string | undefined;
  /** The session's inbound tracker, read for the HELLO and once the WELCOME is handled (it may be new after a session change). */
  sessionInbound(): InboundTracker;
}

export class NativeLink extends Link<Buffer, NativeLinkOptions, LinkHooks<Buffer> & NativeSession> implements PeerEvents {
  private readonly peer: NativePeer;

  /** @param owner its hooks, and the client's options (`owner.opts`, the NativeLinkOptions) */
  constructor(endpoint: Endpoint, owner: LinkHooks<Buffer> & NativeSession) {
    super(endpoint, owner);
    this.peer = new NativePeer('client', this.cfg.maxFrameBytes, this.writer, this);
  }

  // PeerEvents: what the peer decoded (called by this.peer only).

  /** The WELCOME: the link is open. */
  welcome(w: Welcome): void {
    const maxPayloadBytes = payloadLimit(Math.min(this.cfg.maxFrameBytes, w.maxFrameBytes));
    this.opened({ sessionId: w.sessionId, resumed: w.resumed, acked: w.acked, maxPayloadBytes }, agreedHeartbeat(this.cfg.heartbeat, w.heartbeatMs), true);
    this.peer.track(this.hooks.sessionInbound());
  }

  data(id: number, buf: Buffer, start: number, end: number): void {
    this.hooks.onData(id, buf.subarray(start, end));
  }

  ack(id: number): void {
    this.hooks.onAck(id);
  }

  /** A PONG, timed when handled: the wheel's clock (whole ms) read once per pong, not kept per socket read in a field. */
  ping(p: PingPayload): void {
    this.pong(p.seq, this.wheel.now());
  }

  bye(reason: string): void {
    this.down(sdkError('ERR_SERVER_BYE', `server said goodbye: ${reason || 'no reason'}`));
  }

  error(code: string | undefined, message: string): void {
    const c = code ?? 'ERR_PROTOCOL';
    this.down(new ResilientError(c, `server: ${message}`, this.hooks.classify(c)));
  }

  sendMessage(id: number, payload: Buffer): void {
    this.peer.sendMessage(id, payload);
    this.wrote();
  }

  protected goodbye(reason: string): void {
    this.peer.sendBye(reason);
  }

  protected onReady(): void {
    const c = this.cfg;
    const hb = c.heartbeat;
    const sessionId = this.hooks.sessionId;
    // A fixed shape: JSON leaves out the fields that are undefined.
    const hello: Hello = {
      v: PROTOCOL_VERSION,
      clientId: this.hooks.clientId,
      heartbeatMs: hb ? Math.round(hb.intervalMs) : 0,
      maxFrameBytes: c.maxFrameBytes,
      sessionId: sessionId || undefined,
      lastSeen: sessionId ? this.hooks.sessionInbound().lastDelivered : undefined,
      token: c.token,
    };
    this.peer.sendHello(hello);
    this.beginHandshake(this.cfg.heartbeat ? this.cfg.heartbeat.timeoutMs : undefined);
  }

  /** The PING carries its seq from the client's ledger (the server's PONG echoes it) and our last RTT. */
  protected sendPing(now: number): void {
    this.peer.sendPing(this.hooks.heartbeat.sent(now), Date.now(), this.rttMs);
  }

  protected onChunk(chunk: Buffer): PartialFrame {
    return this.peer.push(chunk);
  }
}
