/**
 * The client's link for the native protocol: the socket half from link.ts,
 * the protocol's rules from protocol/peer.ts (shared with the server). This
 * file only turns the endpoint's events into the link's hooks. The link is
 * its peer's events object itself (PeerEvents): methods, no closures per link.
 */
import type { InboundTracker } from '../core/delivery';
import { ResilientError, sdkError } from '../core/errors';
import type { Hello, PingPayload, Welcome } from '../protocol/frames';
import { NativePeer, PartialFrame, PeerEvents, agreedHeartbeat, payloadLimit } from '../protocol/peer';
import { Link, LinkConfig, LinkHeartbeat, LinkHooks } from './link';

export interface NativeLinkConfig extends LinkConfig {
  heartbeat: LinkHeartbeat | false;
  maxFrameBytes: number;
  hello: Hello;
  /** The session's inbound tracker, read once the WELCOME is handled (it may be new after a session change). */
  inbound: () => InboundTracker;
}

export class NativeLink extends Link<Buffer> implements PeerEvents {
  private readonly peer: NativePeer;
  /** When the chunk being pushed was read (the link's one clock read per socket read): times its PONGs. */
  private readAt = 0;

  constructor(
    private readonly config: NativeLinkConfig,
    hooks: LinkHooks<Buffer>,
  ) {
    super(config, hooks);
    this.peer = new NativePeer('client', config.maxFrameBytes, this.writer, this);
  }

  // PeerEvents: what the peer decoded (called by this.peer only).

  /** The WELCOME: the link is open. */
  welcome(w: Welcome): void {
    const maxPayloadBytes = payloadLimit(Math.min(this.config.maxFrameBytes, w.maxFrameBytes));
    this.opened({ sessionId: w.sessionId, resumed: w.resumed, acked: w.acked, maxPayloadBytes }, agreedHeartbeat(this.config.heartbeat, w.heartbeatMs), true);
    this.peer.track(this.config.inbound());
  }

  data(id: number, payload: Buffer): void {
    this.hooks.onData(id, payload);
  }

  ack(id: number): void {
    this.hooks.onAck(id);
  }

  /** A PONG, timed by the read it came in. */
  ping(p: PingPayload): void {
    this.pong(p.seq, this.readAt);
  }

  bye(reason: string): void {
    this.down(sdkError('ERR_SERVER_BYE', `server said goodbye: ${reason || 'no reason'}`));
  }

  error(code: string | undefined, message: string): void {
    const c = code ?? 'ERR_PROTOCOL';
    this.down(new ResilientError(c, `server: ${message}`, this.cfg.classify(c)));
  }

  sendMessage(id: number, payload: Buffer): void {
    this.peer.sendMessage(id, payload);
    this.wrote();
  }

  protected goodbye(reason: string): void {
    this.peer.sendBye(reason);
  }

  protected onReady(): void {
    this.peer.sendHello(this.config.hello);
    this.beginHandshake(this.config.heartbeat ? this.config.heartbeat.timeoutMs : undefined);
  }

  /** The PING carries its seq from the client's ledger (the server's PONG echoes it) and our last RTT. */
  protected sendPing(now: number): void {
    const seq = this.cfg.pings.sent(now);
    const rttMs = this.rttMs;
    this.peer.sendPing({ seq, sentAt: Date.now(), ...(rttMs === undefined ? {} : { rttMs }) });
  }

  protected onChunk(chunk: Buffer, now: number): PartialFrame {
    this.readAt = now;
    return this.peer.push(chunk);
  }
}
