/**
 * A hand-driven client socket that speaks (or breaks) the wire format, to
 * test how the HeartbeatServer treats hostile or odd peers.
 */
import * as net from 'node:net';
import { FrameDecoder } from '../../src/protocol/decoder';
import { Frame, FrameType, decodeErrorPayload, encodeJson } from '../../src/protocol/frames';

export class RawClient {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder(1 << 20);

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk) => {
      for (const f of this.decoder.push(chunk)) {
        this.frames.push(f);
        socket.emit('frame', f);
      }
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  hello(fields: Record<string, unknown> = {}): void {
    this.socket.write(encodeJson(FrameType.HELLO, { v: 1, clientId: 'raw', heartbeatMs: 0, ...fields }));
  }

  /** Resolves with the next frame of `type` (or an already received one). */
  nextFrame(type: number, guardMs = 10_000): Promise<Frame> {
    const have = this.frames.find((f) => f.type === type);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame of type ${type} within ${guardMs} ms`)), guardMs);
      const on = (f: Frame): void => {
        if (f.type !== type) return;
        clearTimeout(timer);
        this.socket.off('frame', on);
        resolve(f);
      };
      this.socket.on('frame', on);
    });
  }

  /** The code of the ERROR frame the server sent, if any. */
  errorCode(): string | undefined {
    const f = this.frames.find((x) => x.type === FrameType.ERROR);
    return f ? decodeErrorPayload(f.payload).code : undefined;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
