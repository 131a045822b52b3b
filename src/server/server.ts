/**
 * HeartbeatServer: accepts ResilientClient connections, runs the handshake
 * and authentication, answers heartbeats, sweeps idle connections and
 * expired sessions in O(expired), and evicts a session's older connection the
 * moment the session reconnects.
 * Over 300 lines: the session table (create, resume, bound, end) is one
 * set of invariants over `sessions`, each session's open link (`wake`) and the retained list.
 */
import { EventEmitter } from 'eventemitter3';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ResilientError, sdkError } from '../core/errors';
import { channels, publish } from '../io/diagnostics';
import type { Hello } from '../protocol/frames';
import { grantedHeartbeatMs } from '../protocol/peer';
import { encodeError } from '../protocol/frames';
import { ResolvedServerOptions, ServerOptions, resolveServerOptions } from './options';
import { sameDigest, tokenDigest } from './identity';
import { MessageBatch } from './batch';
import { ServerLink, ServerLinkHooks } from './server-link';
import { Session } from './session';
import { Sweeper } from './sweeper';
import type { ConnectionInfo, ServerEvents } from './types';
import { noop } from '../core/noop';

export type { ConnectionInfo, ServerEvents, ServerMessageMeta } from './types';

/** HeartbeatServer.delivering: `message` is listened to; `messages` is. */
const EACH = 1;
const BATCH = 2;

/**
 * The open link of a connected session: its `wake`, which only this server
 * sets, and only to a ServerLink (no Map beside the sessions: one entry and
 * its share of a hash table less per connection).
 */
function linkOf(s: Session): ServerLink | undefined {
  return s.wake as ServerLink | undefined;
}

export class HeartbeatServer extends EventEmitter<ServerEvents> {
  private readonly opts: ResolvedServerOptions;
  private server: net.Server | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly conns = new Set<ServerLink>();
  private readonly sweeper: Sweeper;
  private closing: Promise<void> | undefined;
  private readonly hooks: ServerLinkHooks;
  /** The `messages` event's batch, one for every connection: reads do not nest (server/batch.ts). */
  private readonly batch = new MessageBatch();
  /** EACH and/or BATCH: the delivery events listened to at the start of the current read (a listener added during a read counts from the next). */
  private delivering = 0;
  /** Sweep ticks run and connections they closed (for tests and benchmarks). */
  readonly sweepStats: Sweeper['stats'];

  constructor(options: ServerOptions = {}) {
    super();
    this.opts = resolveServerOptions(options);
    const o = this.opts;
    this.sweeper = new Sweeper(o, {
      handshakeTimeout: (c) => c.fail(sdkError('ERR_HANDSHAKE_TIMEOUT', `no HELLO within ${o.handshakeTimeoutMs} ms`)),
      frameTimeout: (c) => c.fail(sdkError('ERR_FRAME_TIMEOUT', `a frame took longer than ${o.frameTimeoutMs} ms to arrive`)),
      slowConsumer: (c) => c.drop(sdkError('ERR_SLOW_CONSUMER', `output blocked for ${o.slowConsumerMs} ms: the client does not read`)),
      // Silence while we do not read (output blocked) is ours: the slow-consumer bound judges that link.
      idle: (c) => (c.readingPaused ? this.sweeper.active.touch(c.idle, this.clock()) : c.drop(sdkError('ERR_HEARTBEAT_TIMEOUT', `no frame for ${o.idleTimeoutMs} ms`))),
      sessionExpired: (s) => this.endSession(s, sdkError('ERR_CLOSED', `session ${s.id} expired after ${o.sessionTtlMs} ms without a connection`)),
    });
    this.sweepStats = this.sweeper.stats;
    this.hooks = {
      onHello: (c, h) => void this.onHello(c, h),
      onActivity: (c) => {
        if (c.isOpen) this.sweeper.active.touch(c.idle, this.clock());
        // Which delivery events are listened to, read once per socket read (listenerCount per message was 10 % of a busy server).
        this.delivering = (this.listenerCount('message') > 0 ? EACH : 0) | (this.listenerCount('messages') > 0 ? BATCH : 0);
      },
      onPartialFrame: (c, state) => {
        if (state === 'started') this.sweeper.partialFrames.touch(c.partial(), this.clock());
        else if (state === 'done') this.sweeper.partialFrames.remove(c.partialNode);
      },
      onOutputBlocked: (c, blocked) => {
        if (blocked) this.sweeper.blockedOutput.touch(c.blockedSince(), this.clock());
        else this.sweeper.blockedOutput.remove(c.blockedNode);
      },
      onMessage: (s, id, buf, start, end) => {
        // Each event costs only when listened to: a view and a meta object per message for `message`, four numbers for `messages`.
        if (this.delivering & EACH) this.emit('message', s, buf.subarray(start, end), { id, sessionId: s.id });
        if (this.delivering & BATCH) {
          this.batch.owner = s;
          this.batch.add(id, buf, start, end);
        }
      },
      onReadDone: (c) => this.handOver(c),
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
        server.on('error', (err) => this.opts.logger?.error({ err }, `server error: ${err.message}`));
        const a = server.address() as net.AddressInfo;
        this.sweeper.start();
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
      const c = linkOf(s);
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

  /** `await using server = new HeartbeatServer(…)`: close() when the scope ends (Node 20.4+). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
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
    this.sweeper.stop();
    for (const c of [...this.conns]) c.sayBye('server shutting down');
    const closed = sdkError('ERR_CLOSED', 'server closed');
    for (const s of [...this.sessions.values()]) this.endSession(s, closed);
    return this.closing;
  }

  /** The server's clock: stalls of our own process excluded (sweeper.ts). */
  private clock(): number {
    return this.sweeper.clock();
  }

  /** Runs one sweep now (also run every sweepIntervalMs). Cost: O(expired). */
  sweep(now?: number): void {
    this.sweeper.sweep(now);
  }

  /**
   * The `messages` event for what `c`'s read delivered, if the batch is its
   * session's. Emptied before anything else can run: a listener that closes
   * the connection finds nothing more to hand over, and one that throws
   * (closing the connection, as a throwing `message` listener does) leaves
   * an empty batch behind.
   */
  private handOver(c: ServerLink): void {
    const b = this.batch;
    const s = b.owner;
    if (s === undefined || s !== c.session) return;
    b.owner = undefined;
    try {
      this.emit('messages', s, b);
    } finally {
      b.clear();
    }
  }

  private onSocket(socket: net.Socket): void {
    // Read while the socket is open: it keeps the address (net.Socket's _peername), which ServerLink reads after the close too.
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
    publish(channels.serverConnection, () => ({ server: this, ...peer }));
    this.sweeper.handshaking.touch(c.idle, this.clock());
  }

  private async onHello(c: ServerLink, hello: Hello): Promise<void> {
    const peer = { remoteAddress: c.remoteAddress, remotePort: c.remotePort };
    if (this.opts.authenticate) {
      let ok = false;
      try {
        ok = (await this.opts.authenticate({ clientId: hello.clientId, token: hello.token }, peer)) === true;
      } catch (err) {
        this.opts.logger?.warn({ err, clientId: hello.clientId }, `authenticate threw: ${(err as Error)?.message ?? String(err)}`);
        ok = false;
      }
      if (c.isDone) return;
      if (!ok) {
        c.fail(sdkError('ERR_AUTH', 'authentication failed')); // reported once, by onConnClose
        return;
      }
    }
    if (this.closing) return c.sayBye('server shutting down');
    this.sweeper.handshaking.remove(c.idle);
    let session = hello.sessionId ? this.sessions.get(hello.sessionId) : undefined;
    // A session id presented with another clientId or token is not resumed: ids are not credentials enough.
    const digest = tokenDigest(hello.token);
    if (session && (session.clientId !== hello.clientId || !sameDigest(session.tokenDigest, digest))) session = undefined;
    const resumed = session !== undefined;
    try {
      // Before the takeover: a forged resume position must not end the owner's connection either.
      // A session that never sent has no window (session.ts): only a position past 0 needs one to be checked against.
      if (hello.lastSeen) session?.outbound.checkAcked(hello.lastSeen, 'HELLO lastSeen');
    } catch (err) {
      return c.fail(ResilientError.from(err));
    }
    if (session) {
      this.sweeper.retained.remove(session.retention);
      const old = linkOf(session);
      if (old) {
        // Takeover: the client reconnected before we noticed its old link died.
        this.detach(session);
        old.session = undefined;
        old.fail(sdkError('ERR_SESSION_TAKEN_OVER', 'the session reconnected on another connection'));
        this.emit('disconnect', session, sdkError('ERR_SESSION_TAKEN_OVER', 'replaced by a newer connection'));
      }
      session.messagesOut += session.outboundIfAny?.resume(hello.lastSeen ?? 0) ?? 0;
    } else {
      if (!this.makeRoomForSession()) return c.fail(sdkError('ERR_SERVER_FULL', `server holds maxSessions (${this.opts.maxSessions}) connected sessions`));
      session = new Session(randomUUID(), hello.clientId, this.opts.queue, digest);
      this.sessions.set(session.id, session);
    }
    session.wake = c;
    this.sweeper.active.touch(c.idle, this.clock());
    c.admit(
      session,
      {
        sessionId: session.id,
        heartbeatMs: grantedHeartbeatMs(hello.heartbeatMs, this.opts.heartbeatMs),
        idleTimeoutMs: this.opts.idleTimeoutMs,
        maxFrameBytes: this.opts.maxFrameBytes,
        acked: session.lastDelivered,
        resumed,
      },
      hello.maxFrameBytes,
    );
    this.emit('connection', session, { resumed, ...peer });
  }

  private onConnClose(c: ServerLink, err: ResilientError | undefined, graceful: boolean): void {
    this.conns.delete(c);
    this.sweeper.handshaking.remove(c.idle);
    this.sweeper.active.remove(c.idle);
    this.sweeper.partialFrames.remove(c.partialNode);
    this.sweeper.blockedOutput.remove(c.blockedNode);
    publish(channels.serverConnectionClose, () => ({ server: this, remoteAddress: c.remoteAddress, remotePort: c.remotePort, ...(err ? { code: err.code } : {}) }));
    if (err && err.code !== 'ERR_CONNECTION_LOST') {
      this.emit('error', err, { remoteAddress: c.remoteAddress, remotePort: c.remotePort });
    }
    const s = c.session;
    if (!s || s.wake !== c) return;
    this.detach(s);
    s.outboundIfAny?.rewind();
    this.emit('disconnect', s, err);
    if (graceful) {
      this.endSession(s, sdkError('ERR_CLOSED', 'client said goodbye'));
    } else if (!this.closing) {
      this.sweeper.retained.touch(s.retentionNode(), this.clock());
    }
  }

  /**
   * Below maxSessions, or brought below it by ending the session disconnected
   * longest (the head of the retained list: O(1)). False when every session
   * is connected: a live client is never evicted for a new one.
   */
  private makeRoomForSession(): boolean {
    if (this.sessions.size < this.opts.maxSessions) return true;
    const oldest = this.sweeper.retained.first();
    if (!oldest) return false;
    this.endSession(oldest, sdkError('ERR_CLOSED', `session evicted: maxSessions (${this.opts.maxSessions}) reached`));
    return true;
  }

  /** The session has no open link any more. */
  private detach(s: Session): void {
    s.wake = undefined;
  }

  private endSession(s: Session, reason: ResilientError): void {
    if (s.isEnded) return;
    this.sweeper.retained.remove(s.retention);
    this.sessions.delete(s.id);
    s.end(reason);
    this.emit('sessionEnd', s, reason);
  }
}

