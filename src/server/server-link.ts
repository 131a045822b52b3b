/**
 * One accepted socket on the server: decodes and validates every frame for
 * the phase it is in, answers pings, and reports to the server through hooks.
 * A bad frame closes this connection only, with an ERROR frame saying why.
 */
import type { Socket } from 'node:net';
import { ResilientError, sdkError } from '../core/errors';
import { FrameDecoder } from '../protocol/decoder';
import {
  FrameType,
  Hello,
  ID_BYTES,
  MAX_HANDSHAKE_FRAME_BYTES,
  Welcome,
  decodeHello,
  decodePing,
  encodeAck,
  encodeError,
  encodeFrame,
  encodeJson,
  readIdAt,
  DATA_BODY_OFFSET,
} from '../protocol/frames';
import { resetSocket } from '../io/socket';
import { FrameWriter } from '../io/writer';
import { ExpiryNode, expiryNode } from './expiry-list';
import type { Session } from './session';

export interface ServerConnectionHooks {
  /** A valid HELLO arrived; the server authenticates and calls welcome() or reject(). */
  onHello(conn: ServerConnection, hello: Hello): void;
  /** Any inbound bytes: the connection is alive. */
  onActivity(conn: ServerConnection): void;
  /**
   * After each chunk: `started` when a new frame began arriving and is not
   * complete yet (the frame timeout starts), `done` when no frame is partial.
   */
  onPartialFrame(conn: ServerConnection, state: 'started' | 'continuing' | 'done'): void;
  onData(conn: ServerConnection, id: number, payload: Buffer): void;
  /** Called once, whatever ended the connection. `graceful` when the client said BYE. */
  onClose(conn: ServerConnection, err: ResilientError | undefined, graceful: boolean): void;
}

type Phase = 'hello' | 'auth' | 'open' | 'done';

export class ServerConnection {
  private phase: Phase = 'hello';
  private readonly decoder: FrameDecoder;
  private readonly writer: FrameWriter;
  session: Session | undefined;
  /** Node in the server's idle (or handshake) list. */
  readonly idle: ExpiryNode<ServerConnection>;
  /** Node in the server's partial-frame list (slowloris guard). */
  readonly partial: ExpiryNode<ServerConnection>;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly connectedAt = Date.now();
  rttMs: number | undefined;
  /** The client's own frame bound (from HELLO); frames to it never exceed it. */
  peerMaxFrameBytes = Infinity;
  private said: 'bye' | undefined;
  /** Resolves when the socket has fully closed. */
  readonly closed: Promise<void>;

  constructor(
    readonly socket: Socket,
    private readonly maxFrameBytes: number,
    private readonly hooks: ServerConnectionHooks,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.decoder = new FrameDecoder(Math.min(maxFrameBytes, MAX_HANDSHAKE_FRAME_BYTES));
    this.writer = new FrameWriter(socket);
    this.idle = expiryNode<ServerConnection>(this);
    this.partial = expiryNode<ServerConnection>(this);
    this.closed = socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('end', this.onSocketEnd);
    socket.on('drain', this.onDrain);
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }
  get isDone(): boolean {
    return this.phase === 'done';
  }

  /** Completes the handshake for `session`. */
  welcome(session: Session, w: Welcome): void {
    if (this.phase !== 'auth') return;
    this.session = session;
    this.phase = 'open';
    this.decoder.maxFrameBytes = this.maxFrameBytes;
    this.writer.write(encodeJson(FrameType.WELCOME, w));
    this.pump();
  }

  /** Writes the session's queued messages while the socket takes them. */
  pump(): void {
    const s = this.session;
    if (!s || this.phase !== 'open') return;
    const max = Math.min(this.maxFrameBytes, this.peerMaxFrameBytes) - 1 - ID_BYTES;
    while (!this.writer.blocked) {
      const e = s.outbound.takeNext();
      if (!e) break;
      if (e.payload.length > max) {
        s.outbound.discardTaken(sdkError('ERR_FRAME_TOO_LARGE', `message of ${e.payload.length} bytes exceeds the ${max}-byte limit of this client's frames`));
        continue;
      }
      this.writer.writeData(e.id, e.payload);
    }
  }

  /** Sends an ERROR frame and closes this connection. */
  fail(err: ResilientError): void {
    if (this.phase === 'done') return;
    this.writer.write(encodeError(err));
    this.finish(err, false, true);
  }

  /** Says BYE and closes. */
  bye(reason: string): void {
    if (this.phase === 'done') return;
    this.writer.write(encodeFrame(FrameType.BYE, Buffer.from(reason, 'utf8')));
    this.finish(undefined, false, true);
  }

  /** Closes without a word, with RST: the peer is presumed gone. */
  drop(err: ResilientError): void {
    this.finish(err, false, false, true);
  }

  private finish(err: ResilientError | undefined, graceful: boolean, flush: boolean, reset = false): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    const s = this.socket;
    s.off('data', this.onSocketData);
    s.off('end', this.onSocketEnd);
    s.off('drain', this.onDrain);
    s.off('close', this.onSocketClose);
    s.off('error', this.onSocketError);
    s.on('error', noop);
    if (flush) {
      this.writer.flush();
      this.writer.close();
      // Destroy once the last frame reached the kernel; a peer that never
      // reads cannot keep the socket (and its memory) alive.
      s.end(() => s.destroy());
      const guard = setTimeout(() => resetSocket(s), 1000);
      guard.unref();
      s.once('close', () => clearTimeout(guard));
    } else {
      this.writer.close();
      if (reset) resetSocket(s);
      else s.destroy();
    }
    this.decoder.reset();
    this.hooks.onClose(this, err, graceful);
  }

  private readonly onSocketData = (chunk: Buffer): void => {
    this.hooks.onActivity(this);
    try {
      const wasPartial = this.decoder.midFrame;
      this.framesInChunk = 0;
      // Frames are handled as they are decoded: no Frame objects, no array.
      this.decoder.pushEach(chunk, this.onFrame);
      if (this.isDone) return;
      if (!this.decoder.midFrame) {
        if (wasPartial) this.hooks.onPartialFrame(this, 'done');
      } else {
        // A frame still being assembled: a new one if any completed in this chunk or none was pending.
        this.hooks.onPartialFrame(this, this.framesInChunk > 0 || !wasPartial ? 'started' : 'continuing');
      }
    } catch (err) {
      this.fail(ResilientError.from(err));
      return;
    }
    const s = this.session;
    if (s && this.phase === 'open') {
      const ack = s.inbound.takeAck();
      if (ack !== undefined) this.writer.write(encodeAck(ack));
    }
    // A peer that sends (pings, data) but does not read our answers must not
    // grow our output buffer: stop reading until it drains.
    if (this.phase !== 'done' && this.writer.blocked) this.socket.pause();
  };

  private framesInChunk = 0;

  /** One decoded frame; `body` is the type byte, then the payload. False stops decoding. */
  private readonly onFrame = (type: FrameType, body: Buffer): boolean => {
    if (this.isDone) return false;
    this.framesInChunk++;
    if (type === FrameType.DATA && this.isOpen) {
      // The hot path: one view for the payload, the id read in place.
      this.hooks.onData(this, readIdAt(body, 1), body.subarray(DATA_BODY_OFFSET));
      return !this.isDone;
    }
    this.handle(type, body.subarray(1));
    return !this.isDone;
  };

  private handle(type: FrameType, payload: Buffer): void {
    if (this.phase === 'hello') {
      if (type !== FrameType.HELLO) throw sdkError('ERR_PROTOCOL', `expected HELLO, got frame type ${type}`);
      const hello = decodeHello(payload);
      this.phase = 'auth';
      this.hooks.onHello(this, hello);
      return;
    }
    if (this.phase === 'auth') throw sdkError('ERR_PROTOCOL', `frame type ${type} before WELCOME`);
    switch (type) {
      case FrameType.PING: {
        const p = decodePing(payload);
        if (p.rttMs !== undefined) this.rttMs = p.rttMs;
        this.writer.write(encodeFrame(FrameType.PONG, payload));
        return;
      }
      case FrameType.ACK: {
        const s = this.session as Session;
        s.messagesOut += s.outbound.ack(readIdAt(payload, 0));
        return;
      }
      case FrameType.BYE:
        this.said = 'bye';
        this.finish(undefined, true, true);
        return;
      case FrameType.ERROR:
        this.finish(sdkError('ERR_CONNECTION_LOST', `client reported an error: ${payload.toString('utf8').slice(0, 200)}`), false, false);
        return;
      default:
        throw sdkError('ERR_PROTOCOL', `unexpected frame type ${type} from client`);
    }
  }

  private readonly onSocketError = (err: Error): void => {
    this.finish(ResilientError.from(err), false, false);
  };
  private readonly onSocketEnd = (): void => {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'client closed the connection'), this.said === 'bye', false);
  };
  private readonly onSocketClose = (): void => {
    this.finish(sdkError('ERR_CONNECTION_LOST', 'connection closed'), false, false);
  };
  private readonly onDrain = (): void => {
    if (this.phase !== 'done') this.socket.resume();
    this.pump();
  };
}

function noop(): void {}
