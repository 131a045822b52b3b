/**
 * One client socket, whatever the protocol: opening (TCP or TLS), its
 * listeners, its named deadlines (connect, handshake, frame) and its
 * heartbeat schedule, each an entry of its own on the process's timer wheel
 * (io/timer-wheel.ts), owned and cleared here, and exactly one `onDown`
 * when it ends. Pongs are matched by the client's ping ledger (core/pong.ts).
 * The native protocol (native-link.ts) and user codecs (codec-link.ts)
 * supply what happens when the socket is ready and when bytes arrive. Every listener and timer is removed on teardown.
 * Over 300 lines: the socket's phases and the deadline of each phase are one
 * state machine, kept in one file so every timer's owner is visible; each deadline is a few
 * lines here because they share one phase and one teardown.
 */
import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ErrorKind, ResilientError, resetsSocket, sdkError } from '../core/errors';
import type { HeartbeatMonitor } from '../core/heartbeat';
import type { PingMatch } from '../core/pong';
import type { PartialFrame } from '../protocol/peer';
import { Deadline } from './deadline';
import { watchLocalAddress } from './network-watch';
import { Endpoint, attach, configureSocket, detach, dropStreamEndListener, localAddressOnce, openSocket, ownerHandlers, resetSocket } from './socket';
import { MAX_DELAY_MS, TimerWheel, WheelEntry, processWheel } from './timer-wheel';
import { FrameWriter } from './writer';

/**
 * What a link reads of the client's options. The client passes its resolved
 * options (client/options.ts) as they are: one object for all its links, no
 * copy per link (bench/heap-per-client.ts).
 */
export interface LinkOptions {
  tls: TlsConnectionOptions | undefined;
  lookup: LookupFunction | undefined;
  connectTimeoutMs: number;
  /** Time for one frame to arrive once its first byte is in (ERR_FRAME_TIMEOUT); undefined: no bound. */
  frameTimeoutMs: number | undefined;
  keepAliveMs: number | false;
  /** How often to check the socket's local address is still on an interface (io/network-watch.ts), in ms; false or absent: never. */
  networkCheckMs?: number | false;
  /** Unref the poll-phase wait of a deadline after a stall; the wheel's timer is always unref'd, the socket holds the process. */
  unref: boolean;
  /** Set: a user handshake follows the protocol's, and the link stays `held` (connect deadline armed, no pings) until release(). */
  handshake?: unknown;
  /** The timer wheel every deadline and the heartbeat run on; its clock is the link's. @default processWheel() */
  wheel?: TimerWheel;
}

/** What a link reports to its owner, and reads from it (one object per client: the lifecycle). `M` is the message type. */
export interface LinkHooks<M> {
  /** The client's options, which its links read from here: no field for them per link (bench/heap-per-client.ts). */
  readonly opts: LinkOptions;
  /** The error's kind (the client's classifyError, then the default). */
  classify(err: unknown): ErrorKind;
  /**
   * The client's heartbeat: its ping ledger across connections (seqs keep rising; cleared when a link ends), where pongs
   * of both kinds of link are matched, and the schedule of the link that is open (restarted by each one that opens).
   */
  readonly heartbeat: HeartbeatMonitor;
  /** The socket is connected: set socket options (e.g. TCP_USER_TIMEOUT). */
  onSocketReady(socket: Socket): void;
  onOpen(info: OpenInfo): void;
  /** A message arrived; `id` is the sender's id (native) or a local counter (codec). */
  onData(id: number, message: M): void;
  /** The peer acknowledged everything up to `id`. */
  onAck(id: number): void;
  onPong(rttMs: number): void;
  onDrain(): void;
  /** Called once, when the link ended for any reason but our own destroy(). */
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

/** The heartbeat a link runs once open: `timeoutMs` Infinity pings without ever declaring the link dead. */
export interface LinkHeartbeat {
  intervalMs: number;
  timeoutMs: number;
}

type LinkPhase = 'connecting' | 'handshake' | 'held' | 'open' | 'done';

/** The socket's property that names its link: the listeners below are one set for every link, not closures each. */
const LINK = Symbol('resilient-tcp.link');
type LinkedSocket = Socket & { [LINK]?: Link<unknown> };

/** The listeners of every link's socket (io/socket.ts, ownerHandlers). */
const LINK_HANDLERS = ownerHandlers(LINK);

function onReadyEvent(this: LinkedSocket): void {
  this[LINK]?.onSocketReady();
}

/** Removes onReadyEvent from whichever ready event it waits on (openSocket's `readyEvent`): no field per link to remember which. */
function stopReady(socket: Socket): void {
  socket.off('connect', onReadyEvent);
  socket.off('secureConnect', onReadyEvent);
}

/** Link.beat: no heartbeat; the monitor watches the link (liveness, wake-ups) but we send no pings; it also sends pings. */
const BEAT_OFF = 0;
const BEAT_WATCH = 1;
const BEAT_PING = 2;

/** `closed` of every link whose socket 'close' came before anybody asked. */
const RELEASED = Promise.resolve();

/**
 * `O` and `H`: the options and hooks a kind of link reads (native-link.ts, codec-link.ts), kept once here, not twice.
 * The link is its heartbeat's entry on the wheel (fire() is heartbeatDue()): its one wake-up that lives as long as
 * it is open, so no object of its own (80 B per idle client, bench/heap-per-client.ts). Its deadlines are entries of their own.
 */
export abstract class Link<M, O extends LinkOptions = LinkOptions, H extends LinkHooks<M> = LinkHooks<M>> extends WheelEntry {
  private phase: LinkPhase = 'connecting';
  protected readonly socket: Socket;
  protected readonly writer: FrameWriter;
  /** BEAT_OFF until opened with a heartbeat, and again once done: the client's monitor (hooks.heartbeat) is this link's only between the two. */
  private beat = BEAT_OFF;
  // Each deadline exists only while it can fire (an idle open link holds none):
  /** TCP (+TLS) connect plus handshake: connectTimeoutMs from the start; gone once open (released, with a user handshake). */
  private connectDeadline: Deadline | undefined;
  /** Once TCP is up, a silent peer gets the heartbeat budget if that is shorter; gone once open. */
  private handshakeDeadline: Deadline | undefined = undefined;
  /** One frame, from its first byte to its last (a trickling peer is never silent yet delivers nothing); created by the first partial frame, then kept. */
  private frameDeadline: Deadline | undefined = undefined;
  /** Ends the network watch of the socket's local address; set once connected. */
  private unwatchAddress: (() => void) | undefined = undefined;
  /** Made on first use of `closed`, or RELEASED when the socket's 'close' came first. */
  private closedPromise: Promise<void> | undefined = undefined;
  bytesIn = 0;

  /**
   * @param endpoint the server this link connects to
   */
  constructor(
    private readonly endpoint: Endpoint,
    protected readonly hooks: H,
  ) {
    super();
    const cfg = this.cfg;
    const { socket, readyEvent } = openSocket({ endpoint, tls: cfg.tls, lookup: cfg.lookup });
    this.socket = socket;
    this.writer = new FrameWriter(socket);
    this.connectDeadline = new Deadline(this.wheel, () => this.onConnectTimeout(), cfg.unref);
    (socket as LinkedSocket)[LINK] = this;
    socket.on(readyEvent, onReadyEvent);
    attach(socket, LINK_HANDLERS);
    // Our 'end' ends the link and destroys the socket: Node's own listener has nothing left to do.
    dropStreamEndListener(socket);
    this.connectDeadline.arm(cfg.connectTimeoutMs);
  }

  /** Resolves when the socket has fully closed (its handle released); made on first use. */
  get closed(): Promise<void> {
    return (this.closedPromise ??= new Promise<void>((resolve) => this.socket.once('close', () => resolve())));
  }

  /** The client's options (`hooks.opts`, shared by its links; `O` is what this kind of link reads of them). */
  protected get cfg(): O {
    return this.hooks.opts as O;
  }

  /** The timer wheel its deadlines and heartbeat run on (read from the options: no field per link). */
  protected get wheel(): TimerWheel {
    return this.cfg.wheel ?? processWheel();
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }
  /** Up, but the user's handshake still owns it (LinkOptions.handshake). */
  get held(): boolean {
    return this.phase === 'held';
  }
  /** True once the link has ended (a getter: TypeScript must not narrow it away across calls). */
  get ended(): boolean {
    return this.phase === 'done';
  }
  get blocked(): boolean {
    return this.writer.blocked;
  }
  /** Bytes the link takes before it is blocked (FrameWriter.room). */
  get room(): number {
    return this.writer.room;
  }
  get bytesOut(): number {
    return this.writer.bytesWritten;
  }
  /** The client's last round trip measured, in ms (its ping ledger's: one copy per client, not a field per link). */
  get rttMs(): number | undefined {
    return this.hooks.heartbeat.rttMs;
  }
  get remote(): string {
    return `${this.endpoint.host}:${this.endpoint.port}`;
  }

  /** Writes one outbound message with its id. */
  abstract sendMessage(id: number, payload: Buffer): void;
  /** The socket is connected (and TLS done): start the protocol. */
  protected abstract onReady(): void;
  /** Bytes arrived at `now` (the one clock read of this socket read): decode and handle them; throw a ResilientError on bad input. Returns the partial-frame state, where known. */
  protected abstract onChunk(chunk: Buffer, now: number): PartialFrame | undefined;
  /** The heartbeat says a ping is due at `now`: record it in `hooks.heartbeat` (the ping ledger) and write it. */
  protected abstract sendPing(now: number): void;
  /** Writes what the protocol says before a graceful end (a BYE), if anything. */
  protected abstract goodbye(reason: string): void;

  /** Ends gracefully: goodbye, flush, FIN; onDown follows when the socket closes. */
  end(reason: string): void {
    if (this.phase === 'done') return;
    this.stopHeartbeat();
    this.goodbye(reason);
    this.writer.flush();
    this.socket.end();
  }

  /** Tears down now. Never calls onDown. Idempotent. */
  destroy(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    // A link still open is ended with RST: close() has already said BYE
    // and waited; whatever is left must not linger in the kernel.
    this.teardown(this.socket.writable && !this.socket.writableEnded);
  }

  /** Ends the link with `err` (the user's handshake failed); onDown follows. */
  fail(err: ResilientError): void {
    this.down(err);
  }

  /** Registers `fn` to run once the bytes written so far reached the kernel (not if the socket fails first). */
  afterFlush(fn: () => void): void {
    this.writer.afterFlush(fn);
  }

  /** Ends the link and reports it, once. */
  protected down(err: ResilientError): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    // Our own verdict that the peer is gone or useless: RST, so no FIN is
    // retransmitted into a dead link (the codes are marked in core/errors.ts).
    this.teardown(resetsSocket(err.code));
    this.hooks.onDown(err);
  }

  /** TCP is up and the protocol has a handshake: guard it against a silent peer. */
  protected beginHandshake(heartbeatTimeoutMs: number | undefined): void {
    this.phase = 'handshake';
    // Once TCP is up, a peer that says nothing is the same silent peer the
    // heartbeat exists for: it gets the heartbeat budget, if that is shorter.
    if (heartbeatTimeoutMs !== undefined && this.connectDeadline && heartbeatTimeoutMs < this.connectDeadline.leftMs()) {
      this.handshakeDeadline = new Deadline(this.wheel, () => this.onHandshakeSilence(heartbeatTimeoutMs), this.cfg.unref);
      this.handshakeDeadline.arm(heartbeatTimeoutMs);
    }
  }

  /** The link is usable: stop the connect deadlines, start the heartbeat. */
  protected opened(info: OpenInfo, heartbeat: LinkHeartbeat | undefined, sendsPings: boolean): void {
    this.handshakeDeadline?.clear();
    this.handshakeDeadline = undefined;
    const holdOpen = this.cfg.handshake !== undefined;
    this.phase = holdOpen ? 'held' : 'open';
    if (!holdOpen) this.dropConnectDeadline();
    if (heartbeat) {
      const now = this.wheel.now();
      this.hooks.heartbeat.restart(heartbeat, now);
      this.beat = sendsPings ? BEAT_PING : BEAT_WATCH;
      this.scheduleHeartbeat(now);
    }
    this.hooks.onOpen(info);
  }

  /** The user's handshake resolved: the connect deadline stops, pings start. */
  release(): void {
    if (this.phase !== 'held') return;
    this.dropConnectDeadline();
    this.phase = 'open';
  }

  /** A message went out (the heartbeat skips a ping while frames flow both ways). */
  protected wrote(): void {
    if (this.beat !== BEAT_OFF) this.hooks.heartbeat.onOutbound();
  }

  /** A pong for ping `seq` arrived at `now`; one that answers none of ours (unknown or settled seq) is ignored. */
  protected pong(seq: number, now: number): void {
    const match = this.hooks.heartbeat.match(seq, now);
    if (match !== undefined) this.answered(match);
  }

  /** The ledger matched a pong to a ping of ours: report its RTT. */
  protected answered(match: PingMatch): void {
    this.hooks.onPong(match.rttMs);
  }

  private dropConnectDeadline(): void {
    this.connectDeadline?.clear();
    this.connectDeadline = undefined;
  }

  private teardown(reset: boolean): void {
    this.dropConnectDeadline();
    this.handshakeDeadline?.clear();
    this.frameDeadline?.clear();
    this.unwatchAddress?.();
    this.unwatchAddress = undefined;
    this.stopHeartbeat();
    this.writer.close();
    const s = this.socket;
    // Before the 'close' listener goes: `closed` must still see the socket's release.
    void this.closed;
    stopReady(s);
    detach(s, LINK_HANDLERS);
    if (reset) resetSocket(s);
    else s.destroy();
  }

  /**
   * After each chunk: a frame still being assembled must complete within
   * frameTimeoutMs of its first byte. A peer that trickles a frame keeps the
   * heartbeat's byte counter happy but delivers nothing (a PONG queued behind
   * the frame never arrives either). Costs an O(1) wheel re-arm per chunk
   * that starts a frame it does not finish.
   */
  private notePartialFrame(p: PartialFrame, now: number): void {
    if (this.cfg.frameTimeoutMs === undefined) return;
    // More bytes of the same frame are no progress: a trickling peer sends just that.
    if (p === 'started') (this.frameDeadline ??= new Deadline(this.wheel, () => this.onFrameTimeout(), this.cfg.unref)).arm(this.cfg.frameTimeoutMs, now);
    else if (p === 'done') this.frameDeadline?.clear();
  }

  private scheduleHeartbeat(now: number): void {
    if (this.beat === BEAT_OFF || (this.phase !== 'open' && this.phase !== 'held')) return;
    this.wheel.reschedule(this, Math.min(Math.max(0, this.hooks.heartbeat.wakeAt() - now), MAX_DELAY_MS), now);
  }

  /** Ends this link's use of the client's monitor: the next link restarts it. */
  private stopHeartbeat(): void {
    this.beat = BEAT_OFF;
    this.wheel.cancel(this);
  }

  /** @internal The wheel's call: the heartbeat's wake-up (the link is its entry). */
  override fire(lateMs: number): void {
    this.heartbeatDue(lateMs);
  }

  /** @internal The heartbeat's wake-up from the wheel (`lateMs`: how late it ran, which the monitor credits as our own stall past the threshold). */
  heartbeatDue(lateMs: number): void {
    if (this.beat === BEAT_OFF || (this.phase !== 'open' && this.phase !== 'held')) return;
    const m = this.hooks.heartbeat;
    const now = this.wheel.now();
    const kind = m.tick(now, lateMs);
    if (kind === 'dead') {
      this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `no data from ${this.remote} for ${Math.round(m.silentMs(now))} ms`));
      return;
    }
    // No pings of ours during the user's handshake: a server expecting a login first may drop us for one.
    if (kind === 'ping' && this.beat === BEAT_PING && this.phase === 'open') this.sendPing(now);
    this.scheduleHeartbeat(now);
  }

  private onConnectTimeout(): void {
    const what = this.phase === 'connecting' ? 'connect' : 'handshake';
    this.down(sdkError('ERR_CONNECT_TIMEOUT', `${what} to ${this.remote} timed out after ${this.cfg.connectTimeoutMs} ms`));
  }

  private onHandshakeSilence(silenceMs: number): void {
    this.down(sdkError('ERR_HEARTBEAT_TIMEOUT', `${this.remote} accepted the connection but sent nothing for ${silenceMs} ms`));
  }

  private onFrameTimeout(): void {
    this.down(sdkError('ERR_FRAME_TIMEOUT', `a frame from ${this.remote} took longer than ${this.cfg.frameTimeoutMs} ms to arrive`));
  }

  private onAddressGone(): void {
    this.unwatchAddress = undefined;
    this.down(sdkError('ERR_NETWORK_CHANGED', `local address ${this.socket.localAddress ?? '?'} is no longer on any interface`));
  }

  // The socket's listeners (LINK_HANDLERS, onReadyEvent above): @internal, called only by them.

  /** @internal The socket is connected (TLS: secured). */
  onSocketReady(): void {
    stopReady(this.socket);
    if (this.phase !== 'connecting') return;
    // TCP came up: after a stall, the handshake gets the deadline's length from now (io/deadline.ts).
    this.connectDeadline?.progress();
    configureSocket(this.socket, this.cfg.keepAliveMs);
    const every = this.cfg.networkCheckMs;
    if (every) this.unwatchAddress = watchLocalAddress(localAddressOnce(this.socket), every, () => this.onAddressGone());
    this.hooks.onSocketReady(this.socket);
    this.onReady();
  }

  /** @internal */
  onSocketData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    // One clock read per socket read, for the heartbeat, the pongs and the frame deadline.
    const now = this.wheel.now();
    if (this.beat !== BEAT_OFF) this.hooks.heartbeat.onInbound(now);
    let partial: PartialFrame | undefined;
    try {
      partial = this.onChunk(chunk, now);
    } catch (err) {
      this.down(ResilientError.from(err, (e) => this.hooks.classify(e)));
      return;
    }
    if (partial !== undefined && this.phase !== 'done') this.notePartialFrame(partial, now);
  }

  /** @internal */
  onSocketError(err: Error): void {
    this.down(ResilientError.from(err, (e) => this.hooks.classify(e)));
  }

  /** @internal */
  onSocketEnd(): void {
    this.down(sdkError('ERR_CONNECTION_LOST', `${this.remote} closed the connection`));
  }

  /** @internal */
  onSocketClose(): void {
    this.closedPromise ??= RELEASED;
    this.down(sdkError('ERR_CONNECTION_LOST', `connection to ${this.remote} closed`));
  }

  /** @internal */
  onSocketDrain(): void {
    if (this.phase === 'open') this.hooks.onDrain();
  }
}
