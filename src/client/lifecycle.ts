/**
 * The client's lifecycle: applies the state machine's transitions (every
 * change goes through apply(), which logs and emits `stateChange`), opens one
 * link at a time, glues it to the delivery window, and owns the retry,
 * stable, ttl and close timers, each by name. client.ts is the public API
 * on top of it. Over 300 lines: the user's handshake sits between the link being up and
 * `open`, and its start, end and abort read best beside those transitions; each entry
 * effect sits beside the event and the diagnostics message (src/io/diagnostics.ts) it
 * produces, so a reader sees everything one transition does in one place.
 */
import type { EventEmitter } from 'eventemitter3';
import { performance } from 'node:perf_hooks';
import { askRetryDelay, backoffDelay } from '../core/backoff';
import { InboundTracker, OutboundWindow } from '../core/delivery';
import { ErrorKind, ResilientError, classifyError as defaultClassify, retriesAtOnce, sdkError } from '../core/errors';
import { ConfirmLedger } from '../core/confirm';
import { PingLedger } from '../core/pong';
import { INITIAL_MACHINE, Machine, MachineEvent, RetryPolicy, Transition, transition } from '../core/state';
import type { CodecLink } from '../io/codec-link';
import { channels, publish } from '../io/diagnostics';
import type { Link, LinkHooks, OpenInfo } from '../io/link';
import type { UserTimeoutSetter } from '../io/user-timeout';
import { payloadLimit, pump } from '../protocol/peer';
import { EndpointRotation } from './endpoints';
import { HandshakeRun } from './handshake';
import { openLink } from './open-link';
import { NamedTimers } from './timers';
import type { ResolvedOptions } from './options';
import type { ClientEvents } from './types';

/** A handshake message's settlement: its result is the handshake's, not a caller's. */
const noop = (): void => {};
/** Until the client sets them: one function for every client, not a closure each. */
const encodeNothing = (): Buffer => Buffer.alloc(0);
const NO_PAYLOADS: Buffer[] = [];

/** A connect() caller waiting for open (resolved) or for failure or close (rejected). */
export interface Waiter {
  resolve(): void;
  reject(e: ResilientError): void;
}

/** retry: the backoff wait; stable: resetAfterMs of an open link; ttl: the next send ttl; close: the drain bound. */
type TimerName = 'retry' | 'stable' | 'ttl' | 'close';

/** It is its links' hooks itself (LinkHooks): one object, no closures per connection. */
export class Lifecycle<M> implements LinkHooks<M> {
  machine: Machine = INITIAL_MACHINE;
  private link: Link<M> | undefined;
  /** The link that ended last; closing waits for its socket to be released. */
  private lastLink: Link<M> | undefined;
  private readonly timers: NamedTimers<TimerName>;
  private lastDelay = 0;
  /** The reconnect.delay hook's answer for the retry being scheduled; its cause when it gave up. */
  private hookDelay: number | undefined;
  private declinedBy: Error | undefined;
  private everOpened = false;
  private readonly endpoints: EndpointRotation;
  readonly outbound: OutboundWindow;
  private inbound = new InboundTracker();
  sessionId: string | undefined;
  /** Largest payload of one message: the frame limit until the server tells its own. */
  maxPayload: number;
  readonly counters = { reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, duplicatesDropped: 0 };
  lastRtt: number | undefined;
  private lastError: ResilientError | undefined;
  /** Payloads rejected by the last giveUp or close, still reported by pending(). */
  abandoned: Buffer[] = NO_PAYLOADS;
  connectWaiters: Waiter[] = [];
  /** Set by the client: runs once the client is closed. */
  onClosed: () => void = noop;
  userTimeout: UserTimeoutSetter | undefined;
  private readonly policy: RetryPolicy;
  /** Connection attempts so far (`link.attempt`). */
  private attempts = 0;
  /** The running user handshake of the current link, if any. */
  private handshake: HandshakeRun<M> | undefined;
  /** Pings of a codec heartbeat, across connections; with confirmed delivery, what they confirm. */
  private readonly pings = new PingLedger();
  private readonly confirm: ConfirmLedger<number> | undefined;
  /** Set by the client: encodes a native-protocol handshake's message and checks the frame limit (throws like send() rejects). */
  encodeAhead: (message: M) => Buffer = encodeNothing;
  private readonly classify: (err: unknown) => ErrorKind;

  constructor(
    private readonly opts: ResolvedOptions<M>,
    private readonly events: EventEmitter<ClientEvents<M>>,
  ) {
    this.outbound = new OutboundWindow(opts.queue);
    this.endpoints = new EndpointRotation(opts.endpoints, opts.randomize, opts.random);
    this.maxPayload = opts.codec ? Infinity : payloadLimit(opts.maxFrameBytes);
    this.policy = opts.reconnect;
    const own = opts.classifyError;
    this.classify = own ? (err) => own(err) ?? defaultClassify(err) : defaultClassify;
    this.timers = new NamedTimers<TimerName>(opts.unref);
    this.confirm = opts.delivery === 'confirmed' ? new ConfirmLedger<number>() : undefined;
  }

  /** Bytes in and out, the current link's included. */
  get bytes(): { in: number; out: number } {
    return { in: this.counters.bytesIn + (this.link?.bytesIn ?? 0), out: this.counters.bytesOut + (this.link?.bytesOut ?? 0) };
  }

  /** Computes and applies an event (the table throws on an illegal move). */
  dispatch(event: MachineEvent, reason?: ResilientError): void {
    this.apply(transition(this.machine, event, this.policy), reason);
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
    if (m.state === 'closing') {
      // Entering a stage of closing (the state may be the same: draining -> releasing).
      const stageBefore = before.state === 'closing' ? before.closing.stage : undefined;
      if (m.closing.stage !== stageBefore) return m.closing.stage === 'draining' ? this.drain() : this.release();
      return;
    }
    if (t.from === to) return;
    switch (m.state) {
      case 'connecting':
        return this.openLink();
      case 'reconnecting':
        return this.scheduleRetry(t, reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
      case 'failed':
        return this.onFailed(t, reason);
      case 'closed':
        return this.finishClose(m.reason);
      default:
        return;
    }
  }

  /** Writes queued messages while the link takes them. */
  pump(): void {
    const c = this.link;
    if (!c) return;
    if (c.isOpen) pump(this.outbound, c, this.maxPayload);
    // Native protocol, handshake running: resends and the handshake's own messages only (the queue is held).
    else if (c.held && !this.opts.codec) pump(this.outbound, c, this.maxPayload, true);
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
    const attempt = {
      endpoint: this.endpoints.next(),
      classify: this.classify,
      userTimeout: this.userTimeout,
      sessionId: this.sessionId,
      inbound: () => this.inbound,
      pings: this.pings,
      confirm: this.confirm,
    };
    this.attempts++;
    this.link = openLink(this.opts, attempt, this);
  }

  /** LinkHooks: a pong gave the round trip. */
  onPong(rttMs: number): void {
    this.lastRtt = rttMs;
    this.events.emit('heartbeat', { rttMs });
    publish(channels.clientHeartbeat, () => ({ client: this.events, rttMs }));
  }

  /** LinkHooks: the socket drained; write what waits. */
  onDrain(): void {
    this.pump();
  }

  /** LinkHooks: the link is up (protocol handshake done). */
  onOpen(info: OpenInfo): void {
    // First, before anything changes: WELCOME's acked beyond what we ever wrote is ERR_PROTOCOL (the link drops).
    const acked = this.outbound.resume(info.acked);
    const resumed = info.resumed && info.sessionId === this.sessionId;
    if (!resumed) {
      // A new session: the server's ids start again; ours keep counting so
      // every message keeps one id across the restart (at-least-once).
      this.inbound = new InboundTracker();
    }
    this.sessionId = info.sessionId;
    this.maxPayload = info.maxPayloadBytes;
    this.counters.messagesOut += acked;
    const link = this.link;
    const fn = this.opts.handshake;
    if (!fn || !link?.held) return this.established(info, resumed);
    const send = this.opts.codec ? (m: M) => (link as CodecLink<M>).sendNow(m) : (m: M) => this.sendAhead(m);
    const done = (): void => {
      this.handshake = undefined;
      link.release();
      this.established(info, resumed);
    };
    this.handshake = new HandshakeRun(fn, { attempt: this.attempts, resumed, send }, this.classify, done, (err) => link.fail(err));
    this.pump();
  }

  /** Native protocol: a handshake message goes ahead of everything never written, in id order (OutboundWindow.enqueueAhead). */
  private sendAhead(message: M): void {
    const r = this.outbound.enqueueAhead(this.encodeAhead(message), noop, noop);
    if (r.refused) throw r.refused;
    this.pump();
  }

  /** The connection is usable (the user's handshake, if any, done): open. */
  private established(info: OpenInfo, resumed: boolean): void {
    if (this.everOpened) this.counters.reconnects++;
    this.everOpened = true;
    const attempt = this.machine.retries;
    this.dispatch({ type: 'established' });
    this.armStable();
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.events.emit('open', { sessionId: info.sessionId, resumed, attempt });
    publish(channels.clientConnect, () => ({ client: this.events, remote: this.link?.remote, sessionId: info.sessionId, resumed, attempt }));
    this.pump();
  }

  /** LinkHooks: a message arrived. */
  onData(id: number, message: M): void {
    if (!this.inbound.accept(id)) {
      this.counters.duplicatesDropped++;
      return;
    }
    // The handshake owns the connection: what it does not take is never emitted (push throws ERR_PROTOCOL past its bound).
    if (this.handshake?.inbox.push(message)) return;
    this.counters.messagesIn++;
    this.events.emit('message', message, { id, sessionId: this.sessionId });
    // Per message: gated here so no closure is built when nobody subscribes.
    if (channels.clientMessage.hasSubscribers) publish(channels.clientMessage, () => ({ client: this.events, direction: 'in' as const, id, bytes: Buffer.isBuffer(message) ? message.length : undefined }));
  }

  /** LinkHooks: the peer has everything up to `id`. */
  onAck(id: number): void {
    this.counters.messagesOut += this.outbound.ack(id);
    if (this.machine.state === 'closing' && this.outbound.size === 0) this.link?.end('client closing');
  }

  /** LinkHooks: the link ended. */
  onDown(err: ResilientError): void {
    const c = this.link;
    this.link = undefined;
    this.lastLink = c;
    if (c) {
      this.counters.bytesIn += c.bytesIn;
      this.counters.bytesOut += c.bytesOut;
    }
    this.timers.clear('stable');
    this.endHandshake(err);
    this.pings.clear();
    // Unconfirmed messages are still in the window: rewind writes them first again.
    this.confirm?.drop();
    this.outbound.rewind();
    const s = this.machine.state;
    if (s === 'closing') {
      this.emitClose(c, undefined, false);
      return this.dispatch({ type: 'lost', kind: err.kind });
    }
    const kind = this.opts.classifyError?.(err);
    if (kind !== undefined && kind !== err.kind) err = new ResilientError(err.code, err.message, kind, err.cause);
    this.lastError = err;
    this.opts.logger?.debug({ remote: c?.remote, code: err.code, err }, `connection to ${c?.remote ?? '?'} ended: ${err.code} ${err.message}`);
    let t = transition(this.machine, { type: 'lost', kind: err.kind, retryAtOnce: retriesAtOnce(err.code) }, this.policy);
    if (t.retry && this.opts.reconnect.delay) {
      const d = askRetryDelay(this.opts.reconnect.delay, t.retry.attempt + 1, err);
      if ('delayMs' in d) this.hookDelay = d.delayMs;
      else {
        this.declinedBy = d.cause;
        t = transition(this.machine, { type: 'lost', kind: err.kind, declined: true }, this.policy);
      }
    }
    if (s === 'open') {
      this.endpoints.lost();
      this.emitClose(c, err, t.machine.state === 'reconnecting');
    }
    this.events.emit('error', err);
    this.apply(t, err);
  }

  private scheduleRetry(t: Transition, error: ResilientError): void {
    const retry = t.retry as NonNullable<Transition['retry']>;
    const delayMs = this.hookDelay ?? (retry.immediate ? 0 : backoffDelay(this.opts.reconnect, retry.attempt, this.lastDelay, this.opts.random));
    this.hookDelay = undefined;
    this.lastDelay = delayMs;
    this.events.emit('reconnecting', { attempt: retry.attempt + 1, delayMs, error });
    this.timers.set('retry', delayMs, () => {
      if (this.machine.state === 'reconnecting') this.dispatch({ type: 'retryDue' });
    });
  }

  private onFailed(t: Transition, reason: ResilientError | undefined): void {
    this.timers.clearAll();
    const cause = reason ?? this.lastError;
    const err =
      t.giveUp === 'exhausted' || t.giveUp === 'declined'
        ? sdkError(
            'ERR_RETRIES_EXHAUSTED',
            `${t.giveUp === 'declined' ? 'reconnect.delay gave up' : 'gave up'} after ${t.machine.retries} retries: ${cause?.code ?? 'unknown'}`,
            this.declinedBy ?? cause,
          )
        : (cause ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
    // pending() keeps showing what was never acknowledged, for the app to persist.
    this.abandoned = this.outbound.rejectAll(err);
    this.events.emit('giveUp', err);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(err);
  }

  /** closing (draining): wait up to closeTimeoutMs for acks, then BYE; the link going down releases. */
  private drain(): void {
    this.timers.clear('retry');
    this.timers.clear('stable');
    const c = this.link;
    if (!c || !c.isOpen) return this.dispatch({ type: 'drainTimeout' });
    if (this.outbound.size === 0) c.end('client closing');
    else this.pump();
    this.timers.set('close', this.opts.closeTimeoutMs, () => this.dispatch({ type: 'drainTimeout' }));
  }

  /** closing (releasing): ends whatever is left of the link; closed follows once its socket is released. */
  private release(): void {
    this.timers.clearAll();
    this.endHandshake(sdkError('ERR_CLOSED', 'client closed during the handshake'));
    const c = this.link ?? this.lastLink;
    if (this.link?.isOpen) this.emitClose(this.link, undefined, false);
    this.link = undefined;
    c?.destroy();
    // closed only once the socket handle is released: close() leaves nothing behind.
    if (c) void c.closed.then(() => this.dispatch({ type: 'closed' }));
    else this.dispatch({ type: 'closed' });
  }

  private finishClose(destroyReason: Error | undefined): void {
    this.timers.clearAll();
    this.endHandshake(sdkError('ERR_CLOSED', 'client closed'));
    this.link?.destroy();
    this.link = undefined;
    const left = this.outbound.rejectAll(sdkError('ERR_CLOSED', 'client closed before the message was acknowledged', destroyReason));
    if (left.length > 0) this.abandoned = left;
    const closed = sdkError('ERR_CLOSED', 'client closed');
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(closed);
    this.onClosed();
  }

  private endHandshake(err: ResilientError): void {
    if (!this.handshake) return;
    this.handshake.abort(err);
    this.handshake = undefined;
    // Its messages never written go with it: the next connection's handshake sends its own.
    this.outbound.withdrawAhead(err);
  }

  /** `close` for a connection that was open, on the event and the diagnostics channel. */
  private emitClose(c: Link<M> | undefined, error: ResilientError | undefined, willReconnect: boolean): void {
    this.events.emit('close', error ? { error, willReconnect } : { willReconnect });
    publish(channels.clientClose, () => ({ client: this.events, remote: c?.remote, ...(error ? { code: error.code } : {}), willReconnect }));
  }

  private armStable(): void {
    // An open socket keeps the process alive anyway; this timer need not.
    this.timers.set(
      'stable',
      this.opts.reconnect.resetAfterMs,
      () => {
        if (this.machine.state !== 'open') return;
        this.lastDelay = 0;
        this.dispatch({ type: 'stable' });
      },
      true,
    );
  }
}
