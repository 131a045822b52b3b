/**
 * One client connection's life: open the socket, HELLO/WELCOME handshake under
 * the connect timeout, decode frames, run the heartbeat, and report exactly one
 * `onDown` when it ends. The client owns reconnects and delivery; this shell
 * owns the socket, its listeners and its timers, and leaves none behind.
 */
import type { Socket } from 'node:net';
import { ErrorKind, ResilientError, sdkError } from './errors';
import { HeartbeatMonitor } from './heartbeat';
import {
  FrameType,
  Frame,
  Hello,
  MAX_HANDSHAKE_FRAME_BYTES,
  Welcome,
  decodeErrorPayload,
  decodePing,
  decodeWelcome,
  encodeAck,
  encodeData,
  encodeDataHeader,
  COPY_PAYLOAD_BELOW,
  encodeFrame,
  encodeJson,
  encodePing,
  readId,
  ID_BYTES,
} from './protocol/frames';
import { FrameDecoder } from './protocol/decoder';
import type { Endpoint } from './options';
import { configureSocket, openSocket } from './transport';
import { FrameWriter } from './writer';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';

export interface ConnectionConfig {
  endpoint: Endpoint;
  tls: TlsConnectionOptions | undefined;
  connectTimeoutMs: number;
  keepAliveMs: number | false;
  heartbeat: { intervalMs: number; timeoutMs: number } | false;
  maxFrameBytes: number;
  hello: Hello;
  unref: boolean;
  classify: (err: unknown) => ErrorKind;
  now: () => number;
}

export interface ConnectionHooks {
  onOpen(welcome: Welcome): void;
  onData(id: number, payload: Buffer): void;
  /** A chunk's frames were all handled (time to send a batched ACK). */
  onChunkDone(): void;
  onAck(id: number): void;
  onPong(rttMs: number): void;
  onDrain(): void;
  /** Called once, when the connection ended for any reason but our own destroy(). */
  onDown(err: ResilientError): void;
}

type Phase = 'connecting' | 'handshake' | 'open' | 'done';

export class ClientConnection {
  private phase: Phase = 'connecting';
  private readonly socket: Socket;
  private readonly writer: FrameWriter;
  private readonly decoder: FrameDecoder;
  private monitor: HeartbeatMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves when the socket has fully closed (its handle released). */
  readonly closed: Promise<void>;
  private readonly startedAt: number;
  /** Max frame length the server accepts (from WELCOME). */
  peerMaxFrameBytes = Infinity;
  bytesIn = 0;

  constructor(
    private readonly cfg: ConnectionConfig,
    private readonly hooks: ConnectionHooks,
  ) {
    this.startedAt = cfg.now();
    const { socket, readyEvent } = openSocket({ endpoint: cfg.endpoint, tls: cfg.tls });
    this.socket = socket;
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.writer = new FrameWriter(socket);
    this.decoder = new FrameDecoder(Math.min(cfg.maxFrameBytes, MAX_HANDSHAKE_FRAME_BYTES));
    socket.once(readyEvent, this.onReady);
    socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('end', this.onSocketEnd);
    socket.on('drain', this.onSocketDrain);
    this.arm(cfg.connectTimeoutMs, this.onConnectTimeout);
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }
  get blocked(): boolean {
    return this.writer.blocked;
  }
  get bytesOut(): number {
    return this.writer.bytesWritten;
  }
  get rttMs(): number | undefined {
    return this.monitor?.rttMs;
  }
  get remote(): string {
    return `${this.cfg.endpoint.host}:${this.cfg.endpoint.port}`;
  }

  sendData(id: number, payload: Buffer): void {
    if (payload.length < COPY_PAYLOAD_BELOW) this.writer.write(encodeData(id, payload));
    else this.writer.writeParts(encodeDataHeader(id, payload.length), payload);
  }
  sendAck(id: number): void {
    this.writer.write(encodeAck(id));
  }
  /** Largest payload a DATA frame may carry on this connection. */
  get maxPayloadBytes(): number {
    return Math.min(this.cfg.maxFrameBytes, this.peerMaxFrameBytes) - 1 - ID_BYTES;
  }

  /** Says BYE and ends the socket gracefully; onDown follows when it closes. */
  end(reason: string): void {
    if (this.phase === 'done') return;
    this.clearTimer();
    this.writer.write(encodeFrame(FrameType.BYE, Buffer.from(reason, 'utf8')));
    this.writer.flush();
    this.socket.end();
  }

  /** Tears down now. Never calls onDown. Idempotent. */
  destroy(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.teardown();
  }

  private teardown(): void {
    this.clearTimer();
    this.writer.close();
    this.decoder.reset();
    const s = this.socket;
    s.off('data', this.onSocketData);
    s.off('close', this.onSocketClose);
    s.off('end', this.onSocketEnd);
    s.off('drain', this.onSocketDrain);
    s.off('connect', this.onReady);
    s.off('secureConnect', this.onReady);
    // Keep a no-op error listener: a late error on a destroyed socket must not crash the process.
    s.off('error', this.onSocketError);
    s.on('error', noop);
    s.destroy();
  }

  /** Ends the connection and reports it, once. */
  private down(err: ResilientError): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.teardown();
    this.hooks.onDown(err);
  }

  private arm(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(fn, Math.max(0, ms));
    if (this.cfg.unref) this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onReady = (): void => {
    if (this.phase !== 'connecting') return;
    this.phase = 'handshake';
    configureSocket(this.socket, this.cfg.keepAliveMs);
    this.writer.write(encodeJson(FrameType.HELLO, this.cfg.hello));
    // Once TCP is up, a peer that says nothing is the same silent peer the
    // heartbeat exists for: it gets the heartbeat budget, if that is shorter.
    const hb = this.cfg.heartbeat;
    const left = this.cfg.connectTimeoutMs - (this.cfg.now() - this.startedAt);
    if (hb && hb.timeoutMs < left) this.arm(hb.timeoutMs, this.onHandshakeSilence);
  };

  private readonly onConnectTimeout = (): void => {
    const what = this.phase === 'connecting' ? 'connect' : 'handshake';
    this.down(sdkError('ERR_CONNECT_TIMEOUT', `${what} to ${this.remote} timed out after ${this.cfg.connectTimeoutMs} ms`));
  };

  private readonly onHandshakeSilence = (): void => {
    const ms = this.cfg.heartbeat ? this.cfg.heartbeat.timeoutMs : 0;
    this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `${this.remote} accepted the connection but sent nothing for ${ms} ms`));
  };

  private readonly onSocketData = (chunk: Buffer): void => {
    this.bytesIn += chunk.length;
    this.monitor?.onInbound(this.cfg.now());
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.down(ResilientError.from(err, this.cfg.classify));
      return;
    }
    try {
      for (const f of frames) {
        if (this.phase === 'done') return;
        this.handleFrame(f);
      }
    } catch (err) {
      this.down(ResilientError.from(err, this.cfg.classify));
      return;
    }
    if (this.phase === 'open') this.hooks.onChunkDone();
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
          sdkError('ERR_CONNECTION_LOST', `server said goodbye: ${f.payload.toString('utf8').slice(0, 200) || 'no reason'}`),
        );
    }
    if (this.phase !== 'open') throw sdkError('ERR_PROTOCOL', `frame type ${f.type} before WELCOME`);
    switch (f.type) {
      case FrameType.DATA:
        return this.hooks.onData(readId(f.payload), f.payload.subarray(ID_BYTES));
      case FrameType.ACK:
        return this.hooks.onAck(readId(f.payload));
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
    this.clearTimer();
    this.phase = 'open';
    this.decoder.maxFrameBytes = this.cfg.maxFrameBytes;
    this.peerMaxFrameBytes = w.maxFrameBytes;
    const hb = this.cfg.heartbeat;
    if (hb) {
      // The server may ask for more frequent pings than we planned (its idle
      // timeout is shorter); never less frequent.
      const intervalMs = w.heartbeatMs > 0 ? Math.min(hb.intervalMs, w.heartbeatMs) : hb.intervalMs;
      this.monitor = new HeartbeatMonitor({ intervalMs, timeoutMs: hb.timeoutMs }, this.cfg.now());
      this.schedule();
    }
    this.hooks.onOpen(w);
  }

  private schedule(): void {
    const m = this.monitor;
    if (!m || this.phase !== 'open') return;
    this.arm(m.wakeAt() - this.cfg.now(), this.onHeartbeatTimer);
  }

  private readonly onHeartbeatTimer = (): void => {
    const m = this.monitor;
    if (!m || this.phase !== 'open') return;
    const r = m.tick(this.cfg.now());
    if (r.kind === 'dead') {
      this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `no frame from ${this.remote} for ${Math.round(r.silentMs)} ms`));
      return;
    }
    if (r.kind === 'ping') {
      this.writer.write(encodePing(FrameType.PING, { seq: r.ping.seq, sentAt: Date.now(), ...rttField(m.rttMs) }));
    }
    this.schedule();
  };

  private readonly onSocketError = (err: Error): void => {
    this.down(ResilientError.from(err, this.cfg.classify));
  };

  private readonly onSocketEnd = (): void => {
    this.down(sdkError('ERR_CONNECTION_LOST', `${this.remote} closed the connection`));
  };

  private readonly onSocketClose = (): void => {
    this.down(sdkError('ERR_CONNECTION_LOST', `connection to ${this.remote} closed`));
  };

  private readonly onSocketDrain = (): void => {
    if (this.phase === 'open') this.hooks.onDrain();
  };
}

function rttField(rtt: number | undefined): { rttMs?: number } {
  return rtt === undefined ? {} : { rttMs: rtt };
}

function noop(): void {}
