/**
 * One accepted socket on the server: the socket half (listeners, flow
 * control, how it ends) around the native protocol's endpoint
 * (protocol/peer.ts, shared with the client), reporting to the server
 * through hooks. A bad frame closes this connection only, with an ERROR
 * frame saying why.
 *
 * Nothing per connection that a connection does not use: the socket's
 * listeners are one set for every link (each finds its link through a Symbol
 * on the socket, as src/io/link.ts does), the link is its peer's events
 * object, and the partial-frame and blocked-output list nodes and the
 * `closed` promise are made on first use.
 * Over 300 lines: the socket's listeners and the peer's events share one
 * connection's state (flags, the ACK turn, how the socket is let go); split,
 * each half would reach into the other's fields.
 */
import type { Socket } from 'node:net';
import type { InboundTracker } from '../core/delivery';
import { ResilientError, sdkError } from '../core/errors';
import { attach, detach, ownerHandlers, resetSocket } from '../io/socket';
import { FrameWriter } from '../io/writer';
import { encodeError } from '../protocol/frames';
import type { Hello, PingPayload, Welcome } from '../protocol/frames';
import { NativePeer, PartialFrame, PeerEvents, pump } from '../protocol/peer';
import { epochMark, epochOf } from './epoch';
import { ExpiryNode, expiryNode } from './expiry-list';
import type { Session } from './session';

export interface ServerLinkHooks {
  /** A valid HELLO arrived; the server authenticates and calls welcome() or fail(). */
  onHello(link: ServerLink, hello: Hello): void;
  /** Any inbound bytes: the connection is alive. */
  onActivity(link: ServerLink): void;
  /** After each chunk, whether a frame is partly received (the frame timeout starts on 'started'). */
  onPartialFrame(link: ServerLink, state: PartialFrame): void;
  /** Our output to this client became blocked (true) or flows again (false). */
  onOutputBlocked(link: ServerLink, blocked: boolean): void;
  /** A new message, its payload at `buf[start, end)` (duplicates are dropped before, and counted in the session's messagesIn). */
  onMessage(session: Session, id: number, buf: Buffer, start: number, end: number): void;
  /** This link's read delivered what it will: hand its batch over (the `messages` event), before its ACK is written or the link closes. */
  onReadDone(link: ServerLink): void;
  /** Called once, whatever ended the connection. `graceful` when the client said BYE. */
  onClose(link: ServerLink, err: ResilientError | undefined, graceful: boolean): void;
}

/** How the socket is let go: flushed then closed, destroyed, or reset (the peer is presumed gone). */
type Release = 'flush' | 'destroy' | 'reset';

/** Time a flushed socket may take to close before it is reset: a peer that never reads cannot keep it. */
const FLUSH_GUARD_MS = 1000;

/** The socket's property that names its link: the listeners below are one set for every link, not closures each. */
const LINK = Symbol('resilient-tcp.server-link');
type LinkedSocket = Socket & { [LINK]?: ServerLink };

/** The listeners of every accepted socket (io/socket.ts, ownerHandlers). */
const HANDLERS = ownerHandlers(LINK);

/** The 'close' listener of a socket its link let go of (finish()): tells the link its handle is released. */
function onReleased(this: LinkedSocket): void {
  this[LINK]?.released();
}

/** The check-phase ACK of a link's read turn (setImmediate passes the link): one function, no closure per turn. */
function ackTurnOf(link: ServerLink): void {
  link.ackTurnDue();
}

/** ServerLink.flags: not reading as our output is blocked; the output blocked (as last reported); the socket's 'close' came; the client said BYE. */
const READING_PAUSED = 1;
const OUTPUT_BLOCKED = 2;
const SOCKET_RELEASED = 4;
const SAID_BYE = 8;

/** `closed` of every link whose socket was released before anybody asked. */
const RELEASED = Promise.resolve();

/** One accepted connection. The link is its peer's events object (PeerEvents): the methods hello … error are called by its NativePeer only. */
export class ServerLink implements PeerEvents {
  private readonly peer: NativePeer;
  private readonly writer: FrameWriter;
  session: Session | undefined;
  /** Node in the server's idle (or handshake) list. */
  readonly idle: ExpiryNode<ServerLink>;
  /** Node in the server's partial-frame list (slowloris guard); made by the first partial frame. */
  partialNode: ExpiryNode<ServerLink> | undefined = undefined;
  /** Node in the server's blocked-output list (slow consumer); made the first time the output blocks. */
  blockedNode: ExpiryNode<ServerLink> | undefined = undefined;
  /** READING_PAUSED, OUTPUT_BLOCKED, SOCKET_RELEASED, SAID_BYE: one small integer, not four fields. */
  private flags = 0;
  /** When the socket was accepted, as epochMark() (a small integer: no heap number per connection). */
  private readonly connectedMark = epochMark();
  /** The RTT the client last reported in a PING, in whole µs (a small integer: no heap number per link); -1 until one did. */
  private reportedRttUs = -1;
  /** Set from this turn's first ACK to its check phase, which acknowledges the turn's later reads (see onSocketData). */
  private ackTurn: NodeJS.Immediate | undefined;
  /** Made on first use of `closed`, or RELEASED when the socket was released first. */
  private closedPromise: Promise<void> | undefined = undefined;
  private resolveClosed: (() => void) | undefined = undefined;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
    private readonly hooks: ServerLinkHooks,
  ) {
    this.writer = new FrameWriter(socket);
    this.peer = new NativePeer('server', maxFrameBytes, this.writer, this);
    this.peer.ackEachChunk = false;
    this.idle = expiryNode<ServerLink>(this);
    if (socket.destroyed) this.flags = SOCKET_RELEASED;
    socket.setNoDelay(true);
    (socket as LinkedSocket)[LINK] = this;
    attach(socket, HANDLERS);
  }

  /** The client's address (the socket keeps it once read: the server reads it at accept). */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  /** Resolves when the socket has fully closed (its handle released); made on first use. */
  get closed(): Promise<void> {
    return (this.closedPromise ??= (this.flags & SOCKET_RELEASED) !== 0 ? RELEASED : new Promise<void>((resolve) => (this.resolveClosed = resolve)));
  }

  /** The partial-frame list's node, made on first use. */
  partial(): ExpiryNode<ServerLink> {
    return (this.partialNode ??= expiryNode<ServerLink>(this));
  }
  /** The blocked-output list's node, made on first use. */
  blockedSince(): ExpiryNode<ServerLink> {
    return (this.blockedNode ??= expiryNode<ServerLink>(this));
  }

  // PeerEvents: what the NativePeer reports (called by the peer only).
  hello(hello: Hello): void {
    this.hooks.onHello(this, hello);
  }
  data(id: number, buf: Buffer, start: number, end: number): void {
    const s = this.session as Session;
    // The session's first DATA frame makes its inbound tracker; the peer acknowledges from it.
    if (s.inboundIfAny === undefined) this.peer.track(s.inbound);
    if (!(s.inboundIfAny as InboundTracker).accept(id)) return;
    s.messagesIn++;
    this.hooks.onMessage(s, id, buf, start, end);
  }
  ack(id: number): void {
    const s = this.session as Session;
    s.messagesOut += s.outbound.ack(id);
  }
  /** The PING, already answered with its PONG. */
  ping(p: PingPayload): void {
    if (p.rttMs !== undefined && p.rttMs >= 0) this.reportedRttUs = Math.round(p.rttMs * 1000);
  }
  /** The client said BYE. */
  bye(): void {
    this.flags |= SAID_BYE;
    this.finish(undefined, true, 'flush');
  }
  /** The client sent ERROR. */
  error(_code: string | undefined, message: string): void {
    this.finish(sdkError('ERR_CONNECTION_LOST', `client reported an error: ${message}`), false, 'destroy');
  }

  get isOpen(): boolean {
    return this.peer.phase === 'open';
  }
  /** The round trip the client last reported (the RTT extension of its PING, docs/protocol.md), in ms to the µs. */
  get rttMs(): number | undefined {
    return this.reportedRttUs < 0 ? undefined : this.reportedRttUs / 1000;
  }
  /** Epoch ms when the socket was accepted. */
  get connectedAt(): number {
    return epochOf(this.connectedMark);
  }
  /** True while we do not read from the client because our output to it is blocked: its silence is ours. */
  get readingPaused(): boolean {
    return (this.flags & READING_PAUSED) !== 0;
  }

  get isDone(): boolean {
    return this.peer.phase === 'done';
  }

  /** Completes the handshake for `session` (sends WELCOME). */
  admit(session: Session, w: Welcome, peerMaxFrameBytes: number | undefined): void {
    if (this.peer.phase !== 'auth') return;
    this.session = session;
    this.peer.accept(w, session.inboundIfAny, peerMaxFrameBytes);
    this.pump();
  }

  /** Writes the session's queued messages while the socket takes them. */
  pump(): void {
    const s = this.session;
    if (s?.outboundIfAny && this.isOpen) pump(s.outboundIfAny, this.peer, this.peer.payloadLimit());
    this.noteOutput();
  }

  /** Tells the server when the output starts or stops being blocked. */
  private noteOutput(): void {
    const blocked = this.writer.blocked && !this.isDone;
    if (blocked === ((this.flags & OUTPUT_BLOCKED) !== 0)) return;
    this.flags ^= OUTPUT_BLOCKED;
    this.hooks.onOutputBlocked(this, blocked);
  }

  /** Sends an ERROR frame and closes this connection. */
  fail(err: ResilientError): void {
    if (this.isDone) return;
    this.writer.write(encodeError(err));
    this.finish(err, false, 'flush');
  }

  /** Says BYE and closes. */
  sayBye(reason: string): void {
    if (this.isDone) return;
    this.peer.sendBye(reason);
    this.finish(undefined, false, 'flush');
  }

  /** Closes without a word, with RST: the peer is presumed gone. */
  drop(err: ResilientError): void {
    this.finish(err, false, 'reset');
  }

  private finish(err: ResilientError | undefined, graceful: boolean, release: Release): void {
    if (this.isDone) return;
    // What this read delivered before a BYE, a bad frame or a close reaches the app before the close and its ACK.
    this.readDone();
    if (this.isDone) return;
    if (this.ackTurn !== undefined) {
      clearImmediate(this.ackTurn);
      this.ackTurn = undefined;
    }
    // What was delivered is acknowledged on the way out when the socket is flushed (also what the read that brought a BYE delivered).
    if (release === 'flush') this.peer.flushAck();
    this.peer.stop();
    const s = this.socket;
    detach(s, HANDLERS);
    if ((this.flags & SOCKET_RELEASED) === 0) s.on('close', onReleased);
    if (release === 'flush') {
      this.writer.flush();
      this.writer.close();
      // Destroy once the last frame reached the kernel.
      s.end(() => s.destroy());
      const guard = setTimeout(() => resetSocket(s), FLUSH_GUARD_MS);
      guard.unref();
      s.once('close', () => clearTimeout(guard));
    } else {
      this.writer.close();
      if (release === 'reset') resetSocket(s);
      else s.destroy();
    }
    this.hooks.onClose(this, err, graceful);
  }

  /** The socket's 'data' (HANDLERS). */
  onSocketData(chunk: Buffer): void {
    this.hooks.onActivity(this);
    let partial: PartialFrame;
    // This read's answers (PONG per PING, ACK) leave in one write at its end, with no nextTick (a failure closes the writer).
    this.writer.hold();
    try {
      partial = this.peer.push(chunk);
    } catch (err) {
      this.fail(ResilientError.from(err));
      return;
    }
    this.readDone();
    if (this.isDone) return;
    // libuv reads a busy socket up to 32 times per poll phase, and each read
    // ends in a flush of the writer (process.nextTick): an ACK per read would
    // be a write() per 64 KiB. The turn's first read is acknowledged at once
    // (a sender waiting on its window hears of it without delay); the later
    // reads of the same turn together, in the check phase that follows.
    if (this.ackTurn === undefined && this.session?.inboundIfAny?.ackDue === true) {
      this.peer.flushAck();
      this.ackTurn = setImmediate(ackTurnOf, this);
    }
    this.writer.release();
    this.hooks.onPartialFrame(this, partial);
    // A peer that sends (pings, data) but does not read our answers must not
    // grow our output buffer: stop reading until it drains.
    if (this.writer.blocked) {
      this.socket.pause();
      this.flags |= READING_PAUSED;
    }
    this.noteOutput();
  }

  /** Hands this read's batch over; a listener that throws closes this connection (as a throwing `message` listener does). */
  private readDone(): void {
    try {
      this.hooks.onReadDone(this);
    } catch (err) {
      this.fail(ResilientError.from(err));
    }
  }

  /** The check phase after a read turn whose first read was acknowledged at once (ackTurnOf). */
  ackTurnDue(): void {
    this.ackTurn = undefined;
    this.peer.flushAck();
    this.noteOutput();
  }

  /** The socket's 'close' after finish() let go of it (onReleased), or with it (onSocketClose). */
  released(): void {
    this.flags |= SOCKET_RELEASED;
    this.resolveClosed?.();
    this.resolveClosed = undefined;
  }

  /** From the shared socket listeners (HANDLERS). */
  onSocketError(err: Error): void {
    this.finish(ResilientError.from(err), false, 'destroy');
  }
  /** From the shared socket listeners (HANDLERS). */
  onSocketEnd(): void {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'client closed the connection'), (this.flags & SAID_BYE) !== 0, 'destroy');
  }
  /** From the shared socket listeners (HANDLERS). */
  onSocketClose(): void {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'connection closed'), false, 'destroy');
    // finish() listens for a later 'close'; this is the one.
    this.released();
  }
  /** From the shared socket listeners (HANDLERS). */
  onSocketDrain(): void {
    if (!this.isDone) this.socket.resume();
    this.flags &= ~READING_PAUSED;
    this.pump();
  }
}
