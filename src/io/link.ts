/**
 * The socket half of a client connection, shared by the native protocol and
 * user codecs: opening (TCP or TLS) under the connect timeout, listeners,
 * the one timer, the heartbeat schedule, and exactly one `onDown` when it
 * ends. Subclasses supply what happens when the socket is ready and when
 * bytes arrive. Every listener and timer is removed on teardown.
 */
import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ErrorKind, ResilientError, sdkError } from '../core/errors';
import { HeartbeatMonitor, STALL_THRESHOLD_MS } from '../core/heartbeat';
import type { Endpoint } from '../client/options';
import { configureSocket, openSocket, resetSocket } from './socket';
import { FrameWriter } from './writer';

export interface ShellConfig {
  endpoint: Endpoint;
  tls: TlsConnectionOptions | undefined;
  lookup: LookupFunction | undefined;
  connectTimeoutMs: number;
  /** Time for one frame to arrive once its first byte is in (ERR_FRAME_TIMEOUT); undefined: no bound. */
  frameTimeoutMs: number | undefined;
  keepAliveMs: number | false;
  /** Called once the socket is connected, to set socket options (e.g. TCP_USER_TIMEOUT). */
  onSocketReady?: (socket: Socket) => void;
  unref: boolean;
  classify: (err: unknown) => ErrorKind;
  now: () => number;
}

/** What a connection reports to its owner. `M` is the message type. */
export interface ConnectionHooks<M> {
  onOpen(info: OpenInfo): void;
  /** A message arrived; `id` is the sender's id (native) or a local counter (codec). */
  onData(id: number, message: M): void;
  /** A chunk's messages were all handled (time to send a batched ACK). */
  onChunkDone(): void;
  /** The peer acknowledged everything up to `id`. */
  onAck(id: number): void;
  onPong(rttMs: number): void;
  onDrain(): void;
  /** Called once, when the connection ended for any reason but our own destroy(). */
  onDown(err: ResilientError): void;
}

export interface OpenInfo {
  sessionId: string | undefined;
  resumed: boolean;
  /** Highest id of ours the peer has (native protocol), 0 otherwise. */
  acked: number;
  /** Largest payload the peer accepts in one message. */
  maxPayloadBytes: number;
}

export type Phase = 'connecting' | 'handshake' | 'open' | 'done';

export abstract class SocketShell<M> {
  protected phase: Phase = 'connecting';
  protected readonly socket: Socket;
  protected readonly writer: FrameWriter;
  protected monitor: HeartbeatMonitor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt: number;
  /** Resolves when the socket has fully closed (its handle released). */
  readonly closed: Promise<void>;
  bytesIn = 0;

  constructor(
    protected readonly cfg: ShellConfig,
    protected readonly hooks: ConnectionHooks<M>,
  ) {
    this.startedAt = cfg.now();
    const { socket, readyEvent } = openSocket({ endpoint: cfg.endpoint, tls: cfg.tls, lookup: cfg.lookup });
    this.socket = socket;
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.writer = new FrameWriter(socket);
    socket.once(readyEvent, this.onReadyEvent);
    socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('end', this.onSocketEnd);
    socket.on('drain', this.onSocketDrain);
    this.armDeadline(cfg.connectTimeoutMs, this.onConnectTimeout);
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }
  /** True once the connection has ended (a getter: TypeScript must not narrow it away across calls). */
  get ended(): boolean {
    return this.phase === 'done';
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

  /** Writes one outbound message with its id. */
  abstract sendMessage(id: number, payload: Buffer): void;
  /** Acknowledges inbound messages up to `id` (no-op where the protocol has no acks). */
  abstract sendAck(id: number): void;
  /** Ends gracefully (a goodbye where the protocol has one); onDown follows when the socket closes. */
  abstract end(reason: string): void;
  /** The socket is connected (and TLS done): start the protocol. */
  protected abstract onReady(): void;
  /** Bytes arrived: decode and handle them; throw a ResilientError on bad input. */
  protected abstract onChunk(chunk: Buffer): void;
  /** Writes a heartbeat ping. */
  protected abstract sendPing(seq: number, rttMs: number | undefined): void;

  /**
   * Subclasses call this after decoding a chunk: whether a frame is still
   * being assembled, and whether that frame began in this chunk. A peer that
   * trickles a frame keeps the heartbeat's byte counter happy but delivers
   * nothing (a PONG queued behind the frame never arrives either): once a
   * frame has been partial for frameTimeoutMs the link is given up. Costs a
   * clock read per chunk ending mid-frame and one timer per partial stretch.
   */
  protected notePartialFrame(midFrame: boolean, startedInChunk: boolean): void {
    if (this.cfg.frameTimeoutMs === undefined) return;
    if (!midFrame) {
      this.partialSince = -1;
      return;
    }
    if (startedInChunk || this.partialSince < 0) this.partialSince = this.cfg.now();
    if (!this.frameTimer) this.armFrameTimer(this.cfg.frameTimeoutMs);
  }

  private partialSince = -1;
  private frameTimer: ReturnType<typeof setTimeout> | undefined;

  /** The frame deadline: stalls credited like the connect deadline; a stretch still partial gets the time it has left. */
  private armFrameTimer(ms: number): void {
    this.credited(ms, this.onFrameDeadline, (t, cb) => {
      this.frameTimer = setTimeout(cb, t);
      if (this.cfg.unref) this.frameTimer.unref();
    });
  }

  private readonly onFrameDeadline = (): void => {
    this.frameTimer = undefined;
    if (this.phase === 'done' || this.partialSince < 0) return;
    const limit = this.cfg.frameTimeoutMs as number;
    const left = this.partialSince + limit - this.cfg.now();
    if (left > 0) return this.armFrameTimer(left);
    this.down(sdkError('ERR_FRAME_TIMEOUT', `a frame from ${this.remote} took longer than ${limit} ms to arrive`));
  };

  /** Tears down now. Never calls onDown. Idempotent. */
  destroy(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    // A connection still open is ended with RST: close() has already said BYE
    // and waited; whatever is left must not linger in the kernel.
    this.teardown(this.socket.writable && !this.socket.writableEnded);
  }

  /** Registers `fn` to run once the bytes written so far reached the kernel (not if the socket fails first). */
  afterFlush(fn: () => void): void {
    this.writer.afterFlush(fn);
  }

  /** Ends the connection and reports it, once. */
  protected down(err: ResilientError): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    // Our own verdict that the peer is gone or useless (heartbeat, connect or
    // frame timeout): RST, so no FIN is retransmitted into a dead link.
    const verdict = err.code === 'ERR_HEARTBEAT_TIMEOUT' || err.code === 'ERR_CONNECT_TIMEOUT' || err.code === 'ERR_FRAME_TIMEOUT';
    this.teardown(verdict);
    this.hooks.onDown(err);
  }

  /** The connection is usable: stop the connect timer, start the heartbeat. */
  protected opened(info: OpenInfo, heartbeat: { intervalMs: number; timeoutMs: number } | undefined, sendsPings: boolean): void {
    this.clearTimer();
    this.phase = 'open';
    if (heartbeat) {
      this.monitor = new HeartbeatMonitor(heartbeat, this.cfg.now());
      this.pingsEnabled = sendsPings;
      this.schedule();
    }
    this.hooks.onOpen(info);
  }

  /** Starts the handshake-silence guard once TCP is up (see onReadyEvent). */
  protected guardHandshake(heartbeatTimeoutMs: number | undefined): void {
    const left = this.cfg.connectTimeoutMs - (this.cfg.now() - this.startedAt);
    // Once TCP is up, a peer that says nothing is the same silent peer the
    // heartbeat exists for: it gets the heartbeat budget, if that is shorter.
    if (heartbeatTimeoutMs !== undefined && heartbeatTimeoutMs < left) {
      this.armDeadline(heartbeatTimeoutMs, () =>
        this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `${this.remote} accepted the connection but sent nothing for ${heartbeatTimeoutMs} ms`)),
      );
    }
  }

  private pingsEnabled = true;

  private teardown(reset: boolean): void {
    this.clearTimer();
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    this.writer.close();
    const s = this.socket;
    s.off('data', this.onSocketData);
    s.off('close', this.onSocketClose);
    s.off('end', this.onSocketEnd);
    s.off('drain', this.onSocketDrain);
    s.off('connect', this.onReadyEvent);
    s.off('secureConnect', this.onReadyEvent);
    // Keep a no-op error listener: a late error on a destroyed socket must not crash the process.
    s.off('error', this.onSocketError);
    s.on('error', noop);
    if (reset) resetSocket(s);
    else s.destroy();
  }

  private arm(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(fn, Math.max(0, ms));
    if (this.cfg.unref) this.timer.unref();
  }

  /**
   * A deadline (connect, handshake): `fn` runs once `ms` of time in which we
   * could listen have passed. Timers run before pending socket reads, so after
   * a stall of our own process (GC, a long synchronous task) a CONNECT or a
   * WELCOME that arrived meanwhile is still unread when the timer fires: the
   * stall is credited (as the heartbeat does) and the reads go first.
   */
  private armDeadline(ms: number, fn: () => void): void {
    this.credited(ms, fn, (t, cb) => this.arm(t, cb));
  }

  /** Runs `fn` after `ms` of time we could listen; `place` sets each timer (the shell's one slot, or the frame timer's). */
  private credited(ms: number, fn: () => void, place: (ms: number, cb: () => void) => void): void {
    let due = this.cfg.now() + ms;
    const check = (): void => {
      const now = this.cfg.now();
      const late = now - due;
      if (late <= STALL_THRESHOLD_MS) return fn();
      due = now + late;
      place(late, check);
    };
    place(Math.max(0, ms), check);
  }

  protected clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
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
      this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `no data from ${this.remote} for ${Math.round(r.silentMs)} ms`));
      return;
    }
    if (r.kind === 'ping' && this.pingsEnabled) this.sendPing(r.ping.seq, m.rttMs);
    this.schedule();
  };

  private readonly onReadyEvent = (): void => {
    if (this.phase !== 'connecting') return;
    configureSocket(this.socket, this.cfg.keepAliveMs);
    this.cfg.onSocketReady?.(this.socket);
    this.onReady();
  };

  private readonly onConnectTimeout = (): void => {
    const what = this.phase === 'connecting' ? 'connect' : 'handshake';
    this.down(sdkError('ERR_CONNECT_TIMEOUT', `${what} to ${this.remote} timed out after ${this.cfg.connectTimeoutMs} ms`));
  };

  private readonly onSocketData = (chunk: Buffer): void => {
    this.bytesIn += chunk.length;
    this.monitor?.onInbound(this.cfg.now());
    try {
      this.onChunk(chunk);
    } catch (err) {
      this.down(ResilientError.from(err, this.cfg.classify));
      return;
    }
    if (this.phase === 'open') this.hooks.onChunkDone();
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

function noop(): void {}
