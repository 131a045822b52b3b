/**
 * The client's lifecycle: applies the state machine's transitions (every
 * change goes through apply(), which logs and emits `stateChange`), opens one
 * link at a time, glues it to the delivery window, and owns the retry,
 * ttl and close timers, each by name. client.ts is the public API
 * on top of it. Beside it: the retry policy's inputs and outputs (retry.ts),
 * the user's handshake (user-handshake.ts) and the close stages (closing.ts).
 * Over 300 lines: the lifecycle is its links' hooks, their native session and
 * the user handshake's wiring in one object (no closures or objects of their
 * own per client, bench/heap-per-client.ts), so each of those is a method here.
 */
import type { EventEmitter } from 'eventemitter3';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { InboundTracker, OutboundWindow } from '../core/delivery';
import { ErrorKind, ResilientError, classifyError as defaultClassify, sdkError } from '../core/errors';
import { ConfirmLedger } from '../core/confirm';
import { HeartbeatMonitor } from '../core/heartbeat';
import { INITIAL_MACHINE, Machine, MachineEvent, MachineIn, Transition, transition } from '../core/state';
import { channels, publish } from '../io/diagnostics';
import type { Link, LinkHooks, OpenInfo } from '../io/link';
import type { NativeSession } from '../io/native-link';
import type { UserTimeoutSetter } from '../io/user-timeout';
import { payloadLimit, pump } from '../protocol/peer';
import { drain, emitClose, finishClose, release } from './closing';
import { ClientIdSource, clientIdText } from './client-id';
import { EndpointRotation, firstEndpoint, rotationFor } from './endpoints';
import { openLink } from './open-link';
import { NEVER_OPENED, giveUpError, isStable, lostEvent, openedNow, retryDelay } from './retry';
import { LifecycleTimers, NamedTimers } from './timers';
import type { ResolvedOptions } from './options';
import type { ClientEvents } from './types';
import { UserHandshake } from './user-handshake';
import { noop } from '../core/noop';

/** Until the client sets them: one array for every client, not one each. */
const NO_PAYLOADS = Object.freeze([]) as unknown as Buffer[];
const NO_WAITERS: readonly Waiter[] = Object.freeze([]);

/**
 * The lifecycle's rarely set fields, in one object made when the first of them is: none per idle client on its first
 * link without `deadAfterMs` (bench/heap-per-client.ts).
 */
class History<M> {
  /** Made by the first timer (a retry, a ttl, a close). */
  timers: LifecycleTimers | undefined = undefined;
  onClosed: () => void = noop;
  userTimeout: UserTimeoutSetter | undefined = undefined;
  /** The link that ended last. */
  lastLink: Link<M> | undefined = undefined;
  reconnects = 0;
  duplicatesDropped = 0;
  /** Bytes in and out of the links that ended. */
  bytesIn = 0;
  bytesOut = 0;
  abandoned: Buffer[] = NO_PAYLOADS;
  /** The last retry delay waited: decorrelated jitter grows from it; a stable connection resets it (client/retry.ts). */
  lastDelay = 0;
}

/**
 * What some options add to a client (two endpoints or more, a `handshake`,
 * `delivery: 'confirmed'`), in one object made only for a client with one of
 * them: one field of the lifecycle instead of four (24 B per plain client, bench/heap-per-client.ts).
 */
class Extras<M> {
  /** Connection attempts so far (the user handshake's `attempt`). */
  attempts = 0;
  constructor(
    /** Which endpoint to try next: none for one endpoint (client/endpoints.ts). */
    readonly rotation: EndpointRotation | undefined,
    /** The user's handshake (the `handshake` option). */
    readonly handshake: UserHandshake<M> | undefined,
    /** With confirmed delivery, what the heartbeat's pings confirm. */
    readonly confirm: ConfirmLedger<number> | undefined,
  ) {}
}

/** A connect() caller waiting for open (resolved) or for failure or close (rejected). */
export interface Waiter {
  resolve(): void;
  reject(e: ResilientError): void;
}

/**
 * Members the close stages (closing.ts) act on are not private (`CloseHost`). It is its links' hooks (LinkHooks,
 * NativeSession) and the user handshake's wiring (HandshakeWiring) itself: no closures per client or connection.
 */
export class Lifecycle<M> implements LinkHooks<M>, NativeSession {
  machine: Machine = INITIAL_MACHINE;
  link: Link<M> | undefined;
  /** What the first lost link, duplicate, timer, close or abandoned payload starts keeping: an idle client on its first link has none. */
  private past: History<M> | undefined = undefined;
  /** When the client last became open (client/retry.ts openedNow(): whole ms), NEVER_OPENED before. */
  private openedAt = NEVER_OPENED;
  /** The rotation, the user's handshake and the confirm ledger, for a client whose options ask for one of them. */
  private readonly extras: Extras<M> | undefined;
  /**
   * The window of sends, made by the first use (a send, a resume past 0, stats()): a client that has never sent holds
   * none (168 B per idle client, bench/heap-per-client.ts), as the server's sessions (server/session.ts).
   */
  outboundIfAny: OutboundWindow | undefined = undefined;
  private inbound = new InboundTracker();
  sessionId: string | undefined;
  /** Largest payload of one message: the frame limit until the server tells its own. */
  maxPayload: number;
  // Counters for stats() every open client moves: fields of the lifecycle (the rarer ones are in `past`).
  messagesIn = 0;
  messagesOut = 0;
  /** connect() callers waiting for open: the shared empty array while there are none (an array per idle client otherwise). */
  connectWaiters: readonly Waiter[] = NO_WAITERS;
  /**
   * The client's heartbeat: its pings (both kinds of link) across connections, and the open link's schedule, restarted
   * by each link that opens (one object per client, core/heartbeat.ts). With confirmed delivery, `confirm` is what they confirm.
   */
  readonly heartbeat = new HeartbeatMonitor();

  /**
   * @param opts the resolved options (shared by every client built from equal options)
   * @param id this client's id, or the number its default id is made from (client/client-id.ts)
   */
  constructor(
    readonly opts: ResolvedOptions<M>,
    readonly events: EventEmitter<ClientEvents<M>>,
    private readonly id: ClientIdSource,
  ) {
    this.maxPayload = opts.codec ? Infinity : payloadLimit(opts.maxFrameBytes);
    const rotation = rotationFor(opts);
    const handshake = opts.handshake ? new UserHandshake(opts, this) : undefined;
    const confirm = opts.delivery === 'confirmed' ? new ConfirmLedger<number>() : undefined;
    this.extras = rotation || handshake || confirm ? new Extras<M>(rotation, handshake, confirm) : undefined;
  }

  /** The user's handshake (the `handshake` option): none without one. */
  get handshake(): UserHandshake<M> | undefined {
    return this.extras?.handshake;
  }

  /** With `delivery: 'confirmed'`, what the heartbeat's pings confirm (LinkHooks.confirm): none otherwise. */
  get confirm(): ConfirmLedger<number> | undefined {
    return this.extras?.confirm;
  }

  /** The window of sends, made on first use. */
  get outbound(): OutboundWindow {
    return (this.outboundIfAny ??= new OutboundWindow(this.opts.queue));
  }

  /** The rarely set fields, made on the first write. */
  private get history(): History<M> {
    return (this.past ??= new History<M>());
  }

  /** The link that ended last; closing waits for its socket to be released. */
  get lastLink(): Link<M> | undefined {
    return this.past?.lastLink;
  }

  set lastLink(link: Link<M> | undefined) {
    if (link || this.past) this.history.lastLink = link;
  }

  /** Connections opened after the first one (`stats().reconnects`). */
  get reconnects(): number {
    return this.past?.reconnects ?? 0;
  }

  /** Messages the inbound tracker dropped as already seen (`stats().duplicatesDropped`). */
  get duplicatesDropped(): number {
    return this.past?.duplicatesDropped ?? 0;
  }

  /** Payloads rejected by the last giveUp or close, still reported by pending(). */
  get abandoned(): Buffer[] {
    return this.past?.abandoned ?? NO_PAYLOADS;
  }

  set abandoned(payloads: Buffer[]) {
    this.history.abandoned = payloads;
  }

  /** The retry, ttl and close timers, by name. */
  get timers(): LifecycleTimers {
    return (this.history.timers ??= new NamedTimers(this.opts.unref));
  }

  /** Set by the client: runs once the client is closed. */
  get onClosed(): () => void {
    return this.past?.onClosed ?? noop;
  }

  set onClosed(fn: () => void) {
    this.history.onClosed = fn;
  }

  /** The TCP_USER_TIMEOUT setter (`deadAfterMs`), once the client looked it up: null when there is none. */
  get userTimeout(): UserTimeoutSetter | undefined {
    return this.past?.userTimeout;
  }

  set userTimeout(setter: UserTimeoutSetter | undefined) {
    this.history.userTimeout = setter;
  }

  /** A connect() caller now waits for open. */
  addWaiter(waiter: Waiter): void {
    if (this.connectWaiters === NO_WAITERS) this.connectWaiters = [waiter];
    else (this.connectWaiters as Waiter[]).push(waiter);
  }

  /** The connect() callers waiting, taken: none wait after this. */
  takeWaiters(): readonly Waiter[] {
    const waiters = this.connectWaiters;
    this.connectWaiters = NO_WAITERS;
    return waiters;
  }

  /** NativeSession: the client's id, as every HELLO sends it (made from a number for a default id: no string kept per client). */
  get clientId(): string {
    return clientIdText(this.id);
  }

  /** LinkHooks and HandshakeWiring: the error's kind, by the client's classifyError, then the default (a method: no closure per client). */
  classify(err: unknown): ErrorKind {
    return this.opts.classifyError?.(err) ?? defaultClassify(err);
  }

  /** NativeSession: the session's inbound tracker (new when the server starts a new session). */
  sessionInbound(): InboundTracker {
    return this.inbound;
  }

  /** Consecutive retries (`stats().retries`): 0 once the open connection has been open resetAfterMs. */
  get retries(): number {
    return this.machine.state === 'open' && isStable(this.opts, this.openedAt) ? 0 : this.machine.retries;
  }

  /** The last round trip measured, in ms (the ping ledger's: one copy per client). */
  get lastRtt(): number | undefined {
    return this.heartbeat.rttMs;
  }

  /** Bytes in and out, the current link's included. */
  get bytes(): { in: number; out: number } {
    const past = this.past;
    return { in: (past?.bytesIn ?? 0) + (this.link?.bytesIn ?? 0), out: (past?.bytesOut ?? 0) + (this.link?.bytesOut ?? 0) };
  }

  /** Computes and applies an event (the table throws on an illegal move). */
  dispatch(event: MachineEvent, reason?: ResilientError): void {
    this.apply(transition(this.machine, event, this.opts.reconnect), reason);
  }

  /** The one place the machine changes: logs `from -> to`, emits stateChange, runs the entry effects. */
  private apply(t: Transition, reason?: ResilientError): void {
    const before = this.machine;
    this.machine = t.machine;
    const to = t.machine.state;
    if (t.from !== to) {
      const fields = reason ? { from: t.from, to, code: reason.code } : { from: t.from, to };
      this.opts.logger?.[to === 'failed' ? 'warn' : 'info'](fields, `${t.from} -> ${to}${reason ? ` (${reason.code})` : ''}`);
      this.events.emit('stateChange', reason ? { from: t.from, to, reason } : { from: t.from, to });
      publish(channels.clientStateChange, () => ({ client: this.events, ...fields }));
    }
    const m = t.machine;
    // A stateChange listener that called close() or destroy() moved the machine on: the newer transition ran its own effects.
    if (this.machine !== m) return;
    if (m.state === 'closing') {
      // Entering a stage of closing (the state may be the same: draining -> releasing).
      const stageBefore = before.state === 'closing' ? before.closing.stage : undefined;
      if (m.closing.stage !== stageBefore) return m.closing.stage === 'draining' ? drain(this) : release(this);
      return;
    }
    if (t.from === to) return;
    switch (m.state) {
      case 'connecting':
        return this.openLink();
      case 'reconnecting':
        return this.scheduleRetry(m, reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
      case 'failed':
        return this.onFailed(m, reason);
      case 'closed':
        return finishClose(this, m.reason);
      default:
        return;
    }
  }

  /** Writes queued messages while the link takes them. */
  pump(): void {
    const c = this.link;
    const w = this.outboundIfAny;
    // No window: nothing was ever sent, nothing to write.
    if (!c || !w) return;
    if (c.isOpen) pump(w, c, this.maxPayload);
    // Native protocol, handshake running: resends and the handshake's own messages only (the queue is held).
    else if (c.held && !this.opts.codec) pump(w, c, this.maxPayload, true);
  }

  /** Arms the ttl timer for the earliest expiry, if none is armed. */
  armTtl(): void {
    if (this.timers.has('ttl')) return;
    const next = this.outbound.nextExpiry();
    if (next === Infinity) return;
    this.timers.set('ttl', Math.max(0, next - performance.now()) + 1, () => {
      this.outbound.expire(performance.now());
      this.armTtl();
    });
  }

  private openLink(): void {
    this.lastLink = undefined;
    const x = this.extras;
    if (x) x.attempts++;
    this.link = openLink(x?.rotation ? x.rotation.next() : firstEndpoint(this.opts), this);
  }

  /** LinkHooks: the socket is connected; TCP_USER_TIMEOUT when `deadAfterMs` asks for it. */
  onSocketReady(socket: Socket): void {
    const ms = this.opts.userTimeoutMs;
    if (this.userTimeout && ms !== undefined) this.userTimeout(socket, ms);
  }

  /** LinkHooks: a pong gave the round trip. */
  onPong(rttMs: number): void {
    if (this.events.listenerCount('heartbeat') > 0) this.events.emit('heartbeat', { rttMs });
    publish(channels.clientHeartbeat, () => ({ client: this.events, rttMs }));
  }

  /** LinkHooks: the socket drained; write what waits. */
  onDrain(): void {
    this.pump();
  }

  /** LinkHooks: the link is up (protocol handshake done). */
  onOpen(info: OpenInfo): void {
    // First, before anything changes: WELCOME's acked beyond what we ever wrote is ERR_PROTOCOL (the link drops).
    // Without a window nothing was written: a resume at 0 is a no-op, one past 0 goes to a window, which refuses it.
    const acked = info.acked === 0 && !this.outboundIfAny ? 0 : this.outbound.resume(info.acked);
    const resumed = info.resumed && info.sessionId === this.sessionId;
    if (!resumed) {
      // A new session: the server's ids start again; ours keep counting so
      // every message keeps one id across the restart (at-least-once).
      this.inbound = new InboundTracker();
    }
    this.sessionId = info.sessionId;
    this.maxPayload = info.maxPayloadBytes;
    this.messagesOut += acked;
    const done = (): void => this.established(info, resumed);
    if (!this.handshake?.start(this.link, { attempt: this.extras?.attempts ?? 0, resumed }, done)) done();
  }

  /** The connection is usable (the user's handshake, if any, done): open. */
  private established(info: OpenInfo, resumed: boolean): void {
    if (this.openedAt !== NEVER_OPENED) this.history.reconnects++;
    const attempt = this.machine.retries;
    this.dispatch({ type: 'established' });
    this.openedAt = openedNow();
    for (const waiter of this.takeWaiters()) waiter.resolve();
    this.events.emit('open', { sessionId: info.sessionId, resumed, attempt });
    publish(channels.clientConnect, () => ({ client: this.events, remote: this.link?.remote, sessionId: info.sessionId, resumed, attempt }));
    this.pump();
  }

  /** LinkHooks: a message arrived. */
  onData(id: number, message: M): void {
    if (!this.inbound.accept(id)) {
      this.history.duplicatesDropped++;
      return;
    }
    if (this.handshake?.take(message)) return;
    this.messagesIn++;
    this.events.emit('message', message, { id, sessionId: this.sessionId });
    // Per message: gated here so no closure is built when nobody subscribes.
    if (channels.clientMessage.hasSubscribers) publish(channels.clientMessage, () => ({ client: this.events, direction: 'in' as const, id, bytes: Buffer.isBuffer(message) ? message.length : undefined }));
  }

  /** LinkHooks: the peer has everything up to `id`. */
  onAck(id: number): void {
    this.messagesOut += this.outbound.ack(id);
    if (this.machine.state === 'closing' && this.outbound.size === 0) this.link?.end('client closing');
  }

  /** LinkHooks: the link ended. */
  onDown(err: ResilientError): void {
    const c = this.link;
    this.link = undefined;
    this.lastLink = c;
    if (c) {
      const past = this.history;
      past.bytesIn += c.bytesIn;
      past.bytesOut += c.bytesOut;
    }
    this.handshake?.end(err);
    this.heartbeat.clear();
    // Unconfirmed messages are still in the window: rewind writes them first again.
    this.confirm?.drop();
    this.outboundIfAny?.rewind();
    // Open resetAfterMs or longer (no timer while open, docs/decisions.md): the retry count and the backoff start again, then the loss counts.
    if (this.machine.state === 'open' && isStable(this.opts, this.openedAt)) {
      if (this.past) this.past.lastDelay = 0;
      this.dispatch({ type: 'stable' });
    }
    const before = this.machine;
    if (before.state === 'closing') {
      emitClose(this.events, c, undefined, false);
      return this.dispatch({ type: 'lost', kind: err.kind });
    }
    const kind = this.opts.classifyError?.(err);
    if (kind !== undefined && kind !== err.kind) err = new ResilientError(err.code, err.message, kind, err.cause);
    this.opts.logger?.debug({ remote: c?.remote, code: err.code, err }, `connection to ${c?.remote ?? '?'} ended: ${err.code} ${err.message}`);
    const t = transition(before, lostEvent(this.opts, before, err), this.opts.reconnect);
    if (before.state === 'open') {
      this.extras?.rotation?.lost();
      emitClose(this.events, c, err, t.machine.state === 'reconnecting');
    }
    this.events.emit('error', err);
    // A listener of close or error that called close() or destroy() moved the machine on: this loss is theirs now.
    if (this.machine !== before) return;
    this.apply(t, err);
  }

  private scheduleRetry(m: MachineIn<'reconnecting'>, error: ResilientError): void {
    const past = this.history;
    const delayMs = (past.lastDelay = retryDelay(this.opts, m, past.lastDelay));
    this.events.emit('reconnecting', { attempt: m.retries, delayMs, error });
    this.timers.set('retry', delayMs, () => {
      if (this.machine.state === 'reconnecting') this.dispatch({ type: 'retryDue' });
    });
  }

  private onFailed(m: MachineIn<'failed'>, reason: ResilientError | undefined): void {
    this.timers.clearAll();
    const err = giveUpError(m, reason);
    // pending() keeps showing what was never acknowledged, for the app to persist.
    this.abandoned = this.outbound.rejectAll(err);
    this.events.emit('giveUp', err);
    for (const waiter of this.takeWaiters()) waiter.reject(err);
  }
}
