/**
 * A hand-driven protocol peer over real sockets, for faults the real
 * HeartbeatServer never commits: silence, RST, garbage, oversize frames.
 * It speaks the wire format through the project's own codec.
 */
import * as net from 'node:net';
import { FrameDecoder } from '../../src/protocol/decoder';
import { Frame, FrameType, encodeFrame, encodeJson } from '../../src/protocol/frames';

export type RawBehaviour = {
  /** Answer HELLO with WELCOME (default true). */
  welcome?: boolean;
  /** Answer PING with PONG (default true). */
  pong?: boolean;
};

/** A WELCOME for a new session; its heartbeatMs is longer than any test's, so the client's own heartbeat settings apply. */
export function welcomeFrame(sessionId: string): Buffer {
  return encodeJson(FrameType.WELCOME, {
    sessionId,
    heartbeatMs: 1_000_000,
    idleTimeoutMs: 1_000_000,
    maxFrameBytes: 1 << 20,
    acked: 0,
    resumed: false,
  });
}

export class RawServer {
  readonly server = net.createServer();
  readonly sockets = new Set<net.Socket>();
  readonly frames: Array<{ socket: net.Socket; frame: Frame }> = [];
  behaviour: Required<RawBehaviour>;
  private seq = 0;

  constructor(behaviour: RawBehaviour = {}) {
    this.behaviour = { welcome: true, pong: true, ...behaviour };
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk) => {
        let frames: Frame[] = [];
        try {
          frames = decoder.push(chunk);
        } catch {
          socket.destroy();
          return;
        }
        for (const frame of frames) {
          this.frames.push({ socket, frame });
          this.server.emit('frame', socket, frame);
          if (frame.type === FrameType.HELLO && this.behaviour.welcome) {
            socket.write(welcomeFrame(`raw-${++this.seq}`));
            this.server.emit('welcomed', socket);
          }
          if (frame.type === FrameType.PING && this.behaviour.pong) socket.write(encodeFrame(FrameType.PONG, frame.payload));
        }
      });
    });
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
