/**
 * The native protocol's rules, once, for both ends: a socket-free endpoint
 * fed bytes by its owner (io/native-link.ts on the client,
 * server/server-link.ts on the server) and writing frames to a sink. It
 * knows the phases (handshake, auth, open), which frame is legal in which
 * phase for which role, the decoder's bound in each phase, the batched ACK
 * after each chunk and the payload limit (the pump from a delivery window is
 * protocol/pump.ts).
 * It holds no socket and no timer: test/unit/peer.test.ts feeds it bytes,
 * as ws tests its Receiver.
 */
import type { InboundTracker } from '../core/delivery';
import { sdkError } from '../core/errors';
import { FrameDecoder } from './decoder';
import {
  DATA_BODY_OFFSET,
  FrameType,
  Hello,
  ID_BYTES,
  MAX_HANDSHAKE_FRAME_BYTES,
  PingPayload,
  Welcome,
  decodeErrorPayload,
  decodeHello,
  decodeWelcome,
  encodeAck,
  encodeFrame,
  encodeJson,
  readIdAt,
} from './frames';
import { pingFrame, pongFrame, readHeartbeat } from './heartbeat-frame';

export { type MessageSink, pump } from './pump';

/** Which end this is: the client sends HELLO and pings; the server answers. */
export type Role = 'client' | 'server';

/** handshake: awaiting HELLO (server) or WELCOME (client); auth: the server decides on a HELLO; done: stopped. */
export type PeerPhase = 'handshake' | 'auth' | 'open' | 'done';

/** After a chunk: whether a frame is partly received, and whether it began in this chunk. */
export type PartialFrame = 'none' | 'started' | 'continuing' | 'done';

/** Where frames go; io/writer.ts's FrameWriter is one. */
export interface FrameSink {
  /** Takes one frame; one shorter than COPY_PAYLOAD_BELOW (frames.ts) it copies before it returns (PING and PONG reuse a buffer, heartbeat-frame.ts). */
  write(frame: Buffer): void;
  writeData(id: number, payload: Buffer): void;
  readonly blocked: boolean;
  /** Bytes it takes before it is blocked (0 or less: blocked). */
  readonly room: number;
}

/** What the endpoint reports to its owner. Each handler may stop() the endpoint. */
export interface PeerEvents {
  /** Server: a HELLO arrived (phase is now 'auth'); answer with accept() or stop. */
  hello?(hello: Hello): void;
  /** Client: the WELCOME arrived (phase is now 'open'). */
  welcome?(welcome: Welcome): void;
  /**
   * A DATA frame: its payload is `buf[start, end)`. No view is made for it:
   * the owner makes one if it needs one (the server's `messages` batch does
   * not). `buf` is the read's own chunk or the frame assembled across chunks,
   * never reused: a view of it may be kept.
   */
  data(id: number, buf: Buffer, start: number, end: number): void;
  ack(id: number): void;
  /** Client: a PONG. Server: a PING, already answered with a PONG. `p` is reused: read it during the call, do not keep it. */
  ping(p: PingPayload): void;
  /** The peer said BYE, with its reason. */
  bye(reason: string): void;
  /** The peer sent ERROR: its code (the client reads the server's; the server only logs a client's report, code undefined). */
  error(code: string | undefined, message: string): void;
}

/** The largest payload of one DATA frame whose total length (type + id + payload) is `frameBytes`. */
export function payloadLimit(frameBytes: number): number {
  return frameBytes - 1 - ID_BYTES;
}

/**
 * Client: the heartbeat to run after WELCOME. The server may ask for more
 * frequent pings than we planned (its idle timeout is shorter), never less
 * frequent. With heartbeat: false we still ping at the server's interval so
 * it does not sweep us, but never declare the link dead ourselves.
 */
export function agreedHeartbeat(
  own: { intervalMs: number; timeoutMs: number } | false,
  serverHeartbeatMs: number,
): { intervalMs: number; timeoutMs: number } | undefined {
  if (own) return { intervalMs: serverHeartbeatMs > 0 ? Math.min(own.intervalMs, serverHeartbeatMs) : own.intervalMs, timeoutMs: own.timeoutMs };
  return serverHeartbeatMs > 0 ? { intervalMs: serverHeartbeatMs, timeoutMs: Infinity } : undefined;
}

/** Server: the ping interval granted in WELCOME: the client's wish (0: none), capped by the server's. */
export function grantedHeartbeatMs(clientHeartbeatMs: number, serverCapMs: number): number {
  return clientHeartbeatMs > 0 ? Math.min(clientHeartbeatMs, serverCapMs) : serverCapMs;
}

export class NativePeer {
  private phaseNow: PeerPhase = 'handshake';
  private readonly decoder: FrameDecoder;
  /** The peer's own frame bound (client: from WELCOME; server: from HELLO); our own until it is known (an integer, not Infinity: a heap number per peer). */
  private peerMaxFrameBytes: number;
  /** The delivery state of the open connection: acks are taken from `inbound` after each chunk. */
  private inbound: InboundTracker | undefined;

  /**
   * True (the default): push() writes the ACK after each chunk. False: the
   * owner calls flushAck() when it chooses (the server: after a turn's first
   * read, then once for its later reads; server/server-link.ts).
   */
  ackEachChunk = true;

  constructor(
    readonly role: Role,
    private readonly maxFrameBytes: number,
    private readonly sink: FrameSink,
    private readonly events: PeerEvents,
  ) {
    // The server bounds frames from unauthenticated peers; the client reads
    // WELCOME and the frames queued behind it in one chunk, so they must all
    // be judged by the same limit.
    this.decoder = new FrameDecoder(role === 'server' ? Math.min(maxFrameBytes, MAX_HANDSHAKE_FRAME_BYTES) : maxFrameBytes);
    this.peerMaxFrameBytes = maxFrameBytes;
  }

  get phase(): PeerPhase {
    return this.phaseNow;
  }

  /** True while the sink holds more than it should: stop writing until it drains. */
  get blocked(): boolean {
    return this.sink.blocked;
  }

  /** Bytes the sink takes before it is blocked (MessageSink). */
  get room(): number {
    return this.sink.room;
  }

  /** The largest payload either side accepts in one message. */
  payloadLimit(): number {
    return payloadLimit(Math.min(this.maxFrameBytes, this.peerMaxFrameBytes));
  }

  /** Client: sends HELLO. */
  sendHello(hello: Hello): void {
    this.sink.write(encodeJson(FrameType.HELLO, hello));
  }

  /** Server: completes the handshake with `welcome`; acks are then taken from `inbound` (none yet: see track()). */
  accept(welcome: Welcome, inbound: InboundTracker | undefined, peerMaxFrameBytes: number | undefined): void {
    if (this.phaseNow !== 'auth') return;
    this.open(inbound, peerMaxFrameBytes);
    this.sink.write(encodeJson(FrameType.WELCOME, welcome));
  }

  /** The session's inbound tracker for the batched ACKs (client: from the welcome handler; server: when its first DATA frame made one). */
  track(inbound: InboundTracker): void {
    this.inbound = inbound;
  }

  /** Writes one DATA frame. */
  sendMessage(id: number, payload: Buffer): void {
    this.sink.writeData(id, payload);
  }

  /** Client: writes a PING (`rttMs`: our last measured round trip, if any). */
  sendPing(seq: number, sentAt: number, rttMs: number | undefined): void {
    this.sink.write(pingFrame(seq, sentAt, rttMs));
  }

  sendBye(reason: string): void {
    this.sink.write(encodeFrame(FrameType.BYE, Buffer.from(reason, 'utf8')));
  }

  /** Stops: no more frames are decoded or handled. Idempotent. */
  stop(): void {
    this.phaseNow = 'done';
    this.decoder.reset();
  }

  /**
   * Decodes and handles a chunk; then, if still open and `ackEachChunk`,
   * acknowledges what it delivered (one ACK per chunk). Throws a ResilientError (ERR_PROTOCOL,
   * ERR_FRAME_TOO_LARGE, ...) on a frame that breaks the protocol.
   */
  push(chunk: Buffer): PartialFrame {
    const wasPartial = this.decoder.midFrame;
    // Frames are handled as they are decoded: no Frame objects, no array.
    const frames = this.decoder.pushEach(chunk, this.onFrame, this);
    if (this.stopped()) return 'none';
    if (this.ackEachChunk) this.flushAck();
    if (!this.decoder.midFrame) return wasPartial ? 'done' : 'none';
    // A new frame if any completed in this chunk or none was pending.
    return frames > 0 || !wasPartial ? 'started' : 'continuing';
  }

  /** Writes one ACK for the highest id delivered, if it advanced since the last ACK (open only). */
  flushAck(): void {
    if (this.phaseNow !== 'open') return;
    const ack = this.inbound?.takeAck();
    if (ack !== undefined) this.sink.write(encodeAck(ack));
  }

  private open(inbound: InboundTracker | undefined, peerMaxFrameBytes: number | undefined): void {
    this.phaseNow = 'open';
    this.inbound = inbound;
    this.peerMaxFrameBytes = peerMaxFrameBytes ?? this.maxFrameBytes;
    this.decoder.maxFrameBytes = this.maxFrameBytes;
  }

  /**
   * One decoded frame, its body (type byte, then payload) at `buf[start, end)`. False stops decoding.
   * A method the decoder calls with this peer as `this`: an arrow field was a closure and a context per connection.
   */
  private onFrame(type: FrameType, buf: Buffer, start: number, end: number): boolean {
    const phase = this.phaseNow;
    if (type === FrameType.DATA && phase === 'open') {
      // The hot path: the id read in place, the payload handed over as offsets (no view).
      this.events.data(readIdAt(buf, start + 1, end), buf, start + DATA_BODY_OFFSET, end);
    } else if (phase === 'done') {
      return false;
    } else if (phase === 'open' && type === (this.role === 'server' ? FrameType.PING : FrameType.PONG)) {
      // The heartbeat frame this end receives: PING on the server, PONG on the client.
      this.onHeartbeat(buf, start + 1, end);
    } else {
      this.handle(type, buf.subarray(start + 1, end));
    }
    return !this.stopped();
  }

  /** The server's PING (answered at once with its PONG) or the client's PONG, its payload at `buf[start, end)`: read in place. */
  private onHeartbeat(buf: Buffer, start: number, end: number): void {
    const p = readHeartbeat(buf, start, end);
    if (this.role === 'server') this.sink.write(pongFrame(buf, start, end));
    this.events.ping(p);
  }

  /** A method, not a field read: a handler called just before may have stopped us, which TypeScript cannot see. */
  private stopped(): boolean {
    return this.phaseNow === 'done';
  }

  private handle(type: FrameType, payload: Buffer): void {
    const from = this.role === 'client' ? 'server' : 'client';
    if (this.phaseNow !== 'open') {
      if (this.role === 'server') {
        if (this.phaseNow === 'auth') throw sdkError('ERR_PROTOCOL', `frame type ${type} before WELCOME`);
        if (type !== FrameType.HELLO) throw sdkError('ERR_PROTOCOL', `expected HELLO, got frame type ${type}`);
        const hello = decodeHello(payload);
        this.phaseNow = 'auth';
        return this.events.hello?.(hello);
      }
      // A server may refuse a HELLO with ERROR, or say BYE while shutting down.
      if (type === FrameType.WELCOME) {
        const welcome = decodeWelcome(payload);
        this.open(this.inbound, welcome.maxFrameBytes);
        return this.events.welcome?.(welcome);
      }
      if (type !== FrameType.ERROR && type !== FrameType.BYE) throw sdkError('ERR_PROTOCOL', `frame type ${type} before WELCOME`);
    }
    // DATA never comes here: onFrame hands it over when open, and before that it is refused above.
    switch (type) {
      case FrameType.ACK:
        return this.events.ack(readIdAt(payload, 0));
      case FrameType.BYE:
        return this.events.bye(text(payload));
      case FrameType.ERROR: {
        if (this.role === 'server') return this.events.error(undefined, text(payload));
        const { code, message } = decodeErrorPayload(payload);
        return this.events.error(code, message);
      }
      // PING (server) and PONG (client) are handled in onHeartbeat; the other end's is an error.
      case FrameType.WELCOME:
        throw sdkError('ERR_PROTOCOL', 'unexpected WELCOME');
    }
    throw sdkError('ERR_PROTOCOL', `unexpected frame type ${type} from ${from}`);
  }
}

/** A peer's free text (BYE reason, ERROR report), bounded for logs. */
function text(payload: Buffer): string {
  return payload.toString('utf8', 0, Math.min(payload.length, 1024)).slice(0, 200);
}
