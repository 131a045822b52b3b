/**
 * A client connection speaking the native protocol: HELLO/WELCOME handshake,
 * DATA with ids, cumulative ACKs, PING/PONG, BYE and ERROR frames.
 */
import { ResilientError, sdkError } from '../core/errors';
import { FrameDecoder } from '../protocol/decoder';
import {
  Frame,
  FrameType,
  Hello,
  ID_BYTES,
  Welcome,
  decodeErrorPayload,
  decodePing,
  decodeWelcome,
  encodeAck,
  encodeFrame,
  encodeJson,
  encodePing,
  readIdAt,
  DATA_BODY_OFFSET,
} from '../protocol/frames';
import { ConnectionHooks, ShellConfig, SocketShell } from './link';

export interface ConnectionConfig extends ShellConfig {
  heartbeat: { intervalMs: number; timeoutMs: number } | false;
  maxFrameBytes: number;
  hello: Hello;
}

export class ClientConnection extends SocketShell<Buffer> {
  private readonly decoder: FrameDecoder;

  constructor(
    private readonly config: ConnectionConfig,
    hooks: ConnectionHooks<Buffer>,
  ) {
    super(config, hooks);
    // No handshake bound here: that bound protects a server from unauthenticated
    // peers. The client reads WELCOME and the frames queued behind it in one
    // chunk, so they must all be judged by the same limit.
    this.decoder = new FrameDecoder(config.maxFrameBytes);
  }

  sendMessage(id: number, payload: Buffer): void {
    this.writer.writeData(id, payload);
  }

  sendAck(id: number): void {
    this.writer.write(encodeAck(id));
  }

  end(reason: string): void {
    if (this.phase === 'done') return;
    this.clearTimer();
    this.writer.write(encodeFrame(FrameType.BYE, Buffer.from(reason, 'utf8')));
    this.writer.flush();
    this.socket.end();
  }

  protected onReady(): void {
    this.phase = 'handshake';
    this.writer.write(encodeJson(FrameType.HELLO, this.config.hello));
    this.guardHandshake(this.config.heartbeat ? this.config.heartbeat.timeoutMs : undefined);
  }

  protected sendPing(seq: number, rttMs: number | undefined): void {
    this.writer.write(encodePing(FrameType.PING, { seq, sentAt: Date.now(), ...(rttMs === undefined ? {} : { rttMs }) }));
  }

  protected onChunk(chunk: Buffer): void {
    const wasPartial = this.decoder.midFrame;
    const before = this.framesIn;
    this.decoder.pushEach(chunk, this.onFrame);
    if (!this.ended) this.notePartialFrame(this.decoder.midFrame, !wasPartial || this.framesIn !== before);
  }

  /** Frames decoded so far (tells whether a chunk completed any, for the frame timeout). */
  private framesIn = 0;

  /** One decoded frame; `body` is the type byte, then the payload. False stops decoding. */
  private readonly onFrame = (type: FrameType, body: Buffer): boolean => {
    if (this.ended) return false;
    this.framesIn++;
    if (type === FrameType.DATA && this.isOpen) {
      this.hooks.onData(readIdAt(body, 1), body.subarray(DATA_BODY_OFFSET));
    } else {
      this.handleFrame({ type, payload: body.subarray(1) });
    }
    return !this.ended;
  };

  private handleFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.WELCOME:
        if (this.phase !== 'handshake') throw sdkError('ERR_PROTOCOL', 'unexpected WELCOME');
        return this.onWelcome(decodeWelcome(f.payload));
      case FrameType.ERROR: {
        const { code, message } = decodeErrorPayload(f.payload);
        return this.down(new ResilientError(code, `server: ${message}`, this.cfg.classify(code)));
      }
      case FrameType.BYE:
        return this.down(
          sdkError('ERR_SERVER_BYE', `server said goodbye: ${f.payload.toString('utf8').slice(0, 200) || 'no reason'}`),
        );
    }
    if (this.phase !== 'open') throw sdkError('ERR_PROTOCOL', `frame type ${f.type} before WELCOME`);
    switch (f.type) {
      case FrameType.DATA:
        return this.hooks.onData(readIdAt(f.payload, 0), f.payload.subarray(ID_BYTES));
      case FrameType.ACK:
        return this.hooks.onAck(readIdAt(f.payload, 0));
      case FrameType.PONG: {
        const rtt = this.monitor?.onPong(decodePing(f.payload).seq, this.cfg.now());
        if (rtt !== undefined) this.hooks.onPong(rtt);
        return;
      }
      default:
        throw sdkError('ERR_PROTOCOL', `unexpected frame type ${f.type} from server`);
    }
  }

  private onWelcome(w: Welcome): void {
    const hb = this.config.heartbeat;
    // The server may ask for more frequent pings than we planned (its idle
    // timeout is shorter); never less frequent. With heartbeat: false we still
    // ping at the server's interval so it does not sweep us, but never declare
    // the link dead ourselves.
    const heartbeat = hb
      ? { intervalMs: w.heartbeatMs > 0 ? Math.min(hb.intervalMs, w.heartbeatMs) : hb.intervalMs, timeoutMs: hb.timeoutMs }
      : w.heartbeatMs > 0
        ? { intervalMs: w.heartbeatMs, timeoutMs: Infinity }
        : undefined;
    const maxPayloadBytes = Math.min(this.config.maxFrameBytes, w.maxFrameBytes) - 1 - ID_BYTES;
    this.opened({ sessionId: w.sessionId, resumed: w.resumed, acked: w.acked, maxPayloadBytes }, heartbeat, true);
  }
}
