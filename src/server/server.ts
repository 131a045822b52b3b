/**
 * HeartbeatServer: accepts ResilientClient connections, runs the handshake
 * and authentication, answers heartbeats, sweeps idle connections and
 * expired sessions in O(expired), and evicts a session's older connection the
 * moment the session reconnects.
 */
import { EventEmitter } from 'eventemitter3';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import { ResilientError, sdkError } from '../core/errors';
import { StalledTime } from '../core/clock';
import type { Hello } from '../protocol/frames';
import { grantedHeartbeatMs } from '../protocol/peer';
import { encodeError } from '../protocol/frames';
import { ExpiryList } from './expiry-list';
import { ResolvedServerOptions, ServerOptions, resolveServerOptions } from './options';
import { ServerLink, ServerLinkHooks } from './server-link';
import { Session } from './session';

export interface ConnectionInfo {
  /** The session id. */
  id: string;
  clientId: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** Epoch ms when this connection was accepted. */
  connectedAt: number;
  /** Epoch ms of the last inbound byte. */
  lastSeenAt: number;
  /** The client's last measured round trip, in ms (reported in its pings). */
  rttMs: number | undefined;
  messagesIn: number;
  messagesOut: number;
}

export interface ServerMessageMeta {
  id: number;
  sessionId: string;
}

export interface ServerEvents {
  listening: (address: { host: string; port: number }) => void;
  /** A session's connection completed its handshake. */
  connection: (session: Session, info: { resumed: boolean; remoteAddress: string | undefined; remotePort: number | undefined }) => void;
  /** A session's connection ended (the session itself may resume within sessionTtlMs). */
  disconnect: (session: Session, error: ResilientError | undefined) => void;
  /** A session ended for good: BYE, expiry or server close. */
  sessionEnd: (session: Session, reason: ResilientError | undefined) => void;
  message: (session: Session, payload: Buffer, meta: ServerMessageMeta) => void;
  /** A connection was refused or failed (bad frames, auth, capacity). Informational. */
  error: (err: ResilientError, peer: { remoteAddress: string | undefined; remotePort: number | undefined }) => void;
  close: () => void;
}

export class HeartbeatServer extends EventEmitter<ServerEvents> {
  private readonly opts: ResolvedServerOptions;
  private server: net.Server | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly conns = new Set<ServerLink>();
  /** The open link of each connected session. */
  private readonly links = new Map<Session, ServerLink>();
  /** Connections before WELCOME, by accept time (handshake timeout). */
  private readonly handshaking = new ExpiryList<ServerLink>();
  /** Open connections by last inbound byte (idle timeout). */
  private readonly active = new ExpiryList<ServerLink>();
  /** Connections with a frame partly received, by when that frame began (frame timeout). */
  private readonly partialFrames = new ExpiryList<ServerLink>();
  /** Disconnected sessions by disconnect time (session TTL). */
  private readonly retained = new ExpiryList<Session>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private expectedSweepAt = 0;
  /** Time our own process was stalled (late sweep ticks, core/clock.ts); not counted as client silence. */
  private readonly stalls = new StalledTime();
  private closing: Promise<void> | undefined;
  private readonly hooks: ServerLinkHooks;
  /** Sweep ticks run and connections they closed (for tests and benchmarks). */
  readonly sweepStats = { ticks: 0, idleClosed: 0, handshakeClosed: 0, frameTimeouts: 0, sessionsExpired: 0 };

  constructor(options: ServerOptions = {}) {
    super();
    this.opts = resolveServerOptions(options);
    this.hooks = {
      onHello: (c, h) => void this.onHello(c, h),
      onActivity: (c) => {
        if (c.isOpen) this.active.touch(c.idle, this.clock());
      },
      onPartialFrame: (c, state) => {
        if (state === 'started') this.partialFrames.touch(c.partial, this.clock());
        else if (state === 'done') this.partialFrames.remove(c.partial);
      },
      onData: (c, id, payload) => {
        const s = c.session as Session;
        if (!s.inbound.accept(id)) return;
        s.messagesIn++;
        this.emit('message', s, payload, { id, sessionId: s.id });
      },
      onClose: (c, err, graceful) => this.onConnClose(c, err, graceful),
    };
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }> {
    if (this.server) return Promise.reject(new Error('HeartbeatServer is already listening'));
    const server = this.opts.tls ? tls.createServer(this.opts.tls) : net.createServer();
    this.server = server;
    server.on(this.opts.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => this.onSocket(socket));
    if (this.opts.tls) {
      server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.emit('error', ResilientError.from(err), { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
      });
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(ResilientError.from(err));
      };
      server.once('error', onError);
      server.listen({ port: this.opts.port, host: this.opts.host }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.opts.logger?.error(`server error: ${err.message}`));
        const a = server.address() as net.AddressInfo;
        this.expectedSweepAt = performance.now() + this.opts.sweepIntervalMs;
        this.sweepTimer = setInterval(this.onSweepTimer, this.opts.sweepIntervalMs);
        this.sweepTimer.unref();
        const address = { host: a.address, port: a.port };
        this.emit('listening', address);
        resolve(address);
      });
    });
  }

  /** The bound address, once listening. */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  /** One row per session with an open connection. */
  connections(): ConnectionInfo[] {
    const rows: ConnectionInfo[] = [];
    for (const s of this.sessions.values()) {
      const c = this.links.get(s);
      if (!c) continue;
      rows.push({
        id: s.id,
        clientId: s.clientId,
        remoteAddress: c.remoteAddress,
        remotePort: c.remotePort,
        connectedAt: c.connectedAt,
        lastSeenAt: Math.round(Date.now() - (this.clock() - c.idle.at)),
        rttMs: c.rttMs,
        messagesIn: s.messagesIn,
        messagesOut: s.messagesOut,
      });
    }
    return rows;
  }

  /** The live session with this id, if any. */
  session(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Sessions kept (connected or awaiting resume). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sockets accepted and not yet closed (handshaking or open). */
  get socketCount(): number {
    return this.conns.size;
  }

  /**
   * Stops accepting, says BYE to every connection, ends every session
   * (pending sends reject with ERR_CLOSED) and resolves when the listening
   * socket is closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const server = this.server;
    const sockets = [...this.conns].map((c) => c.closed);
    const listener = new Promise<void>((resolve) => {
      if (!server || !server.listening) return resolve();
      // libuv releases the listening handle in the close-callbacks phase that
      // follows server.close's callback: wait one more loop turn for it.
      server.close(() => setImmediate(() => setImmediate(resolve)));
    });
    // Resolve only when every socket handle is released, so nothing is left behind.
    this.closing = Promise.all([listener, ...sockets]).then(() => {
      this.emit('close');
    });
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const c of [...this.conns]) c.bye('server shutting down');
    const closed = sdkError('ERR_CLOSED', 'server closed');
    for (const s of [...this.sessions.values()]) this.endSession(s, closed);
    return this.closing;
  }

  /**
   * The server's clock for idle accounting: performance.now() minus the time
   * the process itself was stalled. A late sweep tick means timers ran before
   * pending socket reads, so bytes that arrived during the stall are unread:
   * that time must not count as the clients' silence.
   */
  private clock(): number {
    return this.stalls.credited(performance.now());
  }

  private readonly onSweepTimer = (): void => {
    const now = performance.now();
    this.stalls.note(this.expectedSweepAt, now);
    this.expectedSweepAt = now + this.opts.sweepIntervalMs;
    this.sweep();
  };

  /** Runs one sweep now (also run every sweepIntervalMs). Cost: O(expired). */
  sweep(now = this.clock()): void {
    this.sweepStats.ticks++;
    for (const c of this.handshaking.expire(now, this.opts.handshakeTimeoutMs)) {
      this.sweepStats.handshakeClosed++;
      c.fail(sdkError('ERR_HANDSHAKE_TIMEOUT', `no HELLO within ${this.opts.handshakeTimeoutMs} ms`));
    }
    for (const c of this.partialFrames.expire(now, this.opts.frameTimeoutMs)) {
      this.sweepStats.frameTimeouts++;
      c.fail(sdkError('ERR_FRAME_TIMEOUT', `a frame took longer than ${this.opts.frameTimeoutMs} ms to arrive`));
    }
    for (const c of this.active.expire(now, this.opts.idleTimeoutMs)) {
      this.sweepStats.idleClosed++;
      c.drop(sdkError('ERR_HEARTBEAT_TIMEOUT', `no frame for ${this.opts.idleTimeoutMs} ms`));
    }
    for (const s of this.retained.expire(now, this.opts.sessionTtlMs)) {
      this.sweepStats.sessionsExpired++;
      this.endSession(s, sdkError('ERR_CLOSED', `session ${s.id} expired after ${this.opts.sessionTtlMs} ms without a connection`));
    }
  }

  private onSocket(socket: net.Socket): void {
    const peer = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.opts.maxConnections) {
      // Refuse with a reason, then free the socket as soon as the frame is
      // handed to the kernel: nothing is kept per refused socket.
      socket.on('error', noop);
      const err = sdkError('ERR_SERVER_FULL', `server is at maxConnections (${this.opts.maxConnections})`);
      socket.end(encodeError(err), () => socket.destroy());
      this.emit('error', err, peer);
      return;
    }
    const c = new ServerLink(socket, this.opts.maxFrameBytes, this.hooks);
    this.conns.add(c);
    this.handshaking.touch(c.idle, this.clock());
  }

  private async onHello(c: ServerLink, hello: Hello): Promise<void> {
    const peer = { remoteAddress: c.remoteAddress, remotePort: c.remotePort };
    if (this.opts.authenticate) {
      let ok = false;
      try {
        ok = (await this.opts.authenticate({ clientId: hello.clientId, token: hello.token }, peer)) === true;
      } catch (err) {
        this.opts.logger?.warn(`authenticate threw: ${(err as Error)?.message ?? String(err)}`);
        ok = false;
      }
      if (c.isDone) return;
      if (!ok) {
        c.fail(sdkError('ERR_AUTH', 'authentication failed')); // reported once, by onConnClose
        return;
      }
    }
    if (this.closing) return c.bye('server shutting down');
    this.handshaking.remove(c.idle);
    let session = hello.sessionId ? this.sessions.get(hello.sessionId) : undefined;
    // A session id presented with another clientId is not resumed: ids are not credentials enough.
    if (session && session.clientId !== hello.clientId) session = undefined;
    const resumed = session !== undefined;
    if (session) {
      this.retained.remove(session.retention);
      const old = this.links.get(session);
      if (old) {
        // Takeover: the client reconnected before we noticed its old link died.
        this.detach(session);
        old.session = undefined;
        old.fail(sdkError('ERR_SESSION_TAKEN_OVER', 'the session reconnected on another connection'));
        this.emit('disconnect', session, sdkError('ERR_SESSION_TAKEN_OVER', 'replaced by a newer connection'));
      }
      session.messagesOut += session.outbound.resume(hello.lastSeen ?? 0);
    } else {
      session = new Session(randomUUID(), hello.clientId, this.opts.queue);
      this.sessions.set(session.id, session);
    }
    this.links.set(session, c);
    session.wake = () => c.pump();
    this.active.touch(c.idle, this.clock());
    c.welcome(
      session,
      {
        sessionId: session.id,
        heartbeatMs: grantedHeartbeatMs(hello.heartbeatMs, this.opts.heartbeatMs),
        idleTimeoutMs: this.opts.idleTimeoutMs,
        maxFrameBytes: this.opts.maxFrameBytes,
        acked: session.inbound.lastDelivered,
        resumed,
      },
      hello.maxFrameBytes,
    );
    this.emit('connection', session, { resumed, ...peer });
  }

  private onConnClose(c: ServerLink, err: ResilientError | undefined, graceful: boolean): void {
    this.conns.delete(c);
    this.handshaking.remove(c.idle);
    this.active.remove(c.idle);
    this.partialFrames.remove(c.partial);
    if (err && err.code !== 'ERR_CONNECTION_LOST') {
      this.emit('error', err, { remoteAddress: c.remoteAddress, remotePort: c.remotePort });
    }
    const s = c.session;
    if (!s || this.links.get(s) !== c) return;
    this.detach(s);
    s.outbound.rewind();
    this.emit('disconnect', s, err);
    if (graceful) {
      this.endSession(s, sdkError('ERR_CLOSED', 'client said goodbye'));
    } else if (!this.closing) {
      this.retained.touch(s.retention, this.clock());
    }
  }

  /** The session has no open link any more. */
  private detach(s: Session): void {
    this.links.delete(s);
    s.wake = undefined;
  }

  private endSession(s: Session, reason: ResilientError): void {
    if (s.isEnded) return;
    this.retained.remove(s.retention);
    this.sessions.delete(s.id);
    s.end(reason);
    this.emit('sessionEnd', s, reason);
  }
}

function noop(): void {}
