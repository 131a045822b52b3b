/**
 * One accepted socket on the server: the socket half (listeners, flow
 * control, how it ends) around the native protocol's endpoint
 * (protocol/peer.ts, shared with the client), reporting to the server
 * through hooks. A bad frame closes this connection only, with an ERROR
 * frame saying why.
 */
import type { Socket } from 'node:net';
import { ResilientError, sdkError } from '../core/errors';
import { SocketHandlers, attach, detach, resetSocket } from '../io/socket';
import { FrameWriter } from '../io/writer';
import { encodeError } from '../protocol/frames';
import type { Hello, Welcome } from '../protocol/frames';
import { NativePeer, PartialFrame, pump } from '../protocol/peer';
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
  onData(link: ServerLink, id: number, payload: Buffer): void;
  /** Called once, whatever ended the connection. `graceful` when the client said BYE. */
  onClose(link: ServerLink, err: ResilientError | undefined, graceful: boolean): void;
}

/** How the socket is let go: flushed then closed, destroyed, or reset (the peer is presumed gone). */
type Release = 'flush' | 'destroy' | 'reset';

/** Time a flushed socket may take to close before it is reset: a peer that never reads cannot keep it. */
const FLUSH_GUARD_MS = 1000;

export class ServerLink {
  private readonly peer: NativePeer;
  private readonly writer: FrameWriter;
  private readonly handlers: SocketHandlers;
  session: Session | undefined;
  /** Node in the server's idle (or handshake) list. */
  readonly idle: ExpiryNode<ServerLink>;
  /** Node in the server's partial-frame list (slowloris guard). */
  readonly partial: ExpiryNode<ServerLink>;
  /** Node in the server's blocked-output list (slow consumer). */
  readonly blockedSince: ExpiryNode<ServerLink>;
  /** True while we do not read from the client because our output to it is blocked: its silence is ours. */
  readingPaused = false;
  private outputBlocked = false;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly connectedAt = Date.now();
  /** The RTT the client last reported in a PING; NaN until one did (a number field: no box per ping). */
  private reportedRtt = NaN;
  private said: 'bye' | undefined;
  /** Set from this turn's first ACK to its check phase, which acknowledges the turn's later reads (see onSocketData). */
  private ackTurn: NodeJS.Immediate | undefined;
  /** Resolves when the socket has fully closed. */
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
    private readonly hooks: ServerLinkHooks,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.writer = new FrameWriter(socket);
    this.peer = new NativePeer('server', maxFrameBytes, this.writer, {
      hello: (hello) => this.hooks.onHello(this, hello),
      data: (id, payload) => this.hooks.onData(this, id, payload),
      ack: (id) => {
        const s = this.session as Session;
        s.messagesOut += s.outbound.ack(id);
      },
      ping: (p) => {
        if (p.rttMs !== undefined) this.reportedRtt = p.rttMs;
      },
      bye: () => {
        this.said = 'bye';
        this.finish(undefined, true, 'flush');
      },
      error: (_code, message) => this.finish(sdkError('ERR_CONNECTION_LOST', `client reported an error: ${message}`), false, 'destroy'),
    });
    this.peer.ackEachChunk = false;
    this.idle = expiryNode<ServerLink>(this);
    this.partial = expiryNode<ServerLink>(this);
    this.blockedSince = expiryNode<ServerLink>(this);
    this.closed = socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    this.handlers = { data: this.onSocketData, error: this.onSocketError, end: this.onSocketEnd, close: this.onSocketClose, drain: this.onDrain };
    attach(socket, this.handlers);
  }

  get isOpen(): boolean {
    return this.peer.phase === 'open';
  }
  /** The round trip the client last reported (the RTT extension of its PING, docs/protocol.md), in ms. */
  get rttMs(): number | undefined {
    return Number.isNaN(this.reportedRtt) ? undefined : this.reportedRtt;
  }
  get isDone(): boolean {
    return this.peer.phase === 'done';
  }

  /** Completes the handshake for `session`. */
  welcome(session: Session, w: Welcome, peerMaxFrameBytes: number | undefined): void {
    if (this.peer.phase !== 'auth') return;
    this.session = session;
    this.peer.accept(w, session.inbound, peerMaxFrameBytes);
    this.pump();
  }

  /** Writes the session's queued messages while the socket takes them. */
  pump(): void {
    const s = this.session;
    if (s && this.isOpen) pump(s.outbound, this.peer, this.peer.payloadLimit());
    this.noteOutput();
  }

  /** Tells the server when the output starts or stops being blocked. */
  private noteOutput(): void {
    const blocked = this.writer.blocked && !this.isDone;
    if (blocked === this.outputBlocked) return;
    this.outputBlocked = blocked;
    this.hooks.onOutputBlocked(this, blocked);
  }

  /** Sends an ERROR frame and closes this connection. */
  fail(err: ResilientError): void {
    if (this.isDone) return;
    this.writer.write(encodeError(err));
    this.finish(err, false, 'flush');
  }

  /** Says BYE and closes. */
  bye(reason: string): void {
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
    if (this.ackTurn !== undefined) {
      clearImmediate(this.ackTurn);
      this.ackTurn = undefined;
      // What was delivered is acknowledged on the way out when the socket is flushed.
      if (release === 'flush') this.peer.flushAck();
    }
    this.peer.stop();
    const s = this.socket;
    detach(s, this.handlers);
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

  private readonly onSocketData = (chunk: Buffer): void => {
    this.hooks.onActivity(this);
    let partial: PartialFrame;
    try {
      partial = this.peer.push(chunk);
    } catch (err) {
      this.fail(ResilientError.from(err));
      return;
    }
    if (this.isDone) return;
    // libuv reads a busy socket up to 32 times per poll phase, and each read
    // ends in a flush of the writer (process.nextTick): an ACK per read would
    // be a write() per 64 KiB. The turn's first read is acknowledged at once
    // (a sender waiting on its window hears of it without delay); the later
    // reads of the same turn together, in the check phase that follows.
    if (this.ackTurn === undefined && this.session?.inbound.ackDue === true) {
      this.peer.flushAck();
      this.ackTurn = setImmediate(this.sendAck);
    }
    this.hooks.onPartialFrame(this, partial);
    // A peer that sends (pings, data) but does not read our answers must not
    // grow our output buffer: stop reading until it drains.
    if (this.writer.blocked) {
      this.socket.pause();
      this.readingPaused = true;
    }
    this.noteOutput();
  };

  private readonly sendAck = (): void => {
    this.ackTurn = undefined;
    this.peer.flushAck();
    this.noteOutput();
  };

  private readonly onSocketError = (err: Error): void => {
    this.finish(ResilientError.from(err), false, 'destroy');
  };
  private readonly onSocketEnd = (): void => {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'client closed the connection'), this.said === 'bye', 'destroy');
  };
  private readonly onSocketClose = (): void => {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'connection closed'), false, 'destroy');
  };
  private readonly onDrain = (): void => {
    if (!this.isDone) this.socket.resume();
    this.readingPaused = false;
    this.pump();
  };
}
