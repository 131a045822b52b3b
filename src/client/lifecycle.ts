/**
 * The client's lifecycle: applies the state machine's transitions (every
 * change goes through apply(), which logs and emits `stateChange`), opens one
 * link at a time, glues it to the delivery window, and owns the retry,
 * stable, ttl and close timers, each by name. client.ts is the public API
 * on top of it.
 */
import type { EventEmitter } from 'eventemitter3';
import { performance } from 'node:perf_hooks';
import { backoffDelay } from '../core/backoff';
import { InboundTracker, OutboundWindow } from '../core/delivery';
import { ErrorKind, ResilientError, classifyError as defaultClassify, retriesAtOnce, sdkError } from '../core/errors';
import { INITIAL_MACHINE, Machine, MachineEvent, RetryPolicy, Transition, transition } from '../core/state';
import type { Link, OpenInfo } from '../io/link';
import type { UserTimeoutSetter } from '../io/user-timeout';
import { payloadLimit, pump } from '../protocol/peer';
import { EndpointRotation } from './endpoints';
import { openLink } from './open-link';
import { NamedTimers } from './timers';
import type { ResolvedOptions } from './options';
import type { ClientEvents } from './types';

/** A connect() caller waiting for open (resolved) or for failure or close (rejected). */
export interface Waiter {
  resolve(): void;
  reject(e: ResilientError): void;
}

/** retry: the backoff wait; stable: resetAfterMs of an open link; ttl: the next send ttl; close: the drain bound. */
type TimerName = 'retry' | 'stable' | 'ttl' | 'close';

export class Lifecycle<M> {
  machine: Machine = INITIAL_MACHINE;
  private link: Link<M> | undefined;
  /** The link that ended last; closing waits for its socket to be released. */
  private lastLink: Link<M> | undefined;
  private readonly timers: NamedTimers<TimerName>;
  private lastDelay = 0;
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
  abandoned: Buffer[] = [];
  connectWaiters: Waiter[] = [];
  /** Set by the client: runs once the client is closed. */
  onClosed: () => void = () => {};
  userTimeout: UserTimeoutSetter | undefined;
  private readonly policy: RetryPolicy;
  private readonly classify = (err: unknown): ErrorKind => this.opts.classifyError?.(err) ?? defaultClassify(err);

  constructor(
    private readonly opts: ResolvedOptions<M>,
    private readonly events: EventEmitter<ClientEvents<M>>,
  ) {
    this.outbound = new OutboundWindow(opts.queue);
    this.endpoints = new EndpointRotation(opts.endpoints, opts.randomize, opts.random);
    this.maxPayload = opts.codec ? Infinity : payloadLimit(opts.maxFrameBytes);
    this.policy = { enabled: opts.reconnect.enabled, maxRetries: opts.reconnect.maxRetries };
    this.timers = new NamedTimers<TimerName>(opts.unref);
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
      const line = `${t.from} -> ${to}${reason ? ` (${reason.code})` : ''}`;
      if (to === 'failed') this.opts.logger?.warn(line);
      else this.opts.logger?.info(line);
      this.events.emit('stateChange', reason ? { from: t.from, to, reason } : { from: t.from, to });
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
    if (c && c.isOpen) pump(this.outbound, c, this.maxPayload);
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
    };
    this.link = openLink(this.opts, attempt, {
      onOpen: (info) => this.onOpen(info),
      onData: (id, message) => this.onData(id, message),
      onAck: (id) => this.onAck(id),
      onPong: (rttMs) => {
        this.lastRtt = rttMs;
        this.events.emit('heartbeat', { rttMs });
      },
      onDrain: () => this.pump(),
      onDown: (err) => this.onDown(err),
    });
  }

  private onOpen(info: OpenInfo): void {
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
    if (this.everOpened) this.counters.reconnects++;
    this.everOpened = true;
    const attempt = this.machine.retries;
    this.dispatch({ type: 'established' });
    this.armStable();
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.events.emit('open', { sessionId: info.sessionId, resumed, attempt });
    this.pump();
  }

  private onData(id: number, message: M): void {
    if (!this.inbound.accept(id)) {
      this.counters.duplicatesDropped++;
      return;
    }
    this.counters.messagesIn++;
    this.events.emit('message', message, { id, sessionId: this.sessionId });
  }

  private onAck(id: number): void {
    this.counters.messagesOut += this.outbound.ack(id);
    if (this.machine.state === 'closing' && this.outbound.size === 0) this.link?.end('client closing');
  }

  private onDown(err: ResilientError): void {
    const c = this.link;
    this.link = undefined;
    this.lastLink = c;
    if (c) {
      this.counters.bytesIn += c.bytesIn;
      this.counters.bytesOut += c.bytesOut;
    }
    this.timers.clear('stable');
    this.outbound.rewind();
    const s = this.machine.state;
    if (s === 'closing') {
      this.events.emit('close', { willReconnect: false });
      return this.dispatch({ type: 'lost', kind: err.kind });
    }
    const kind = this.opts.classifyError?.(err);
    if (kind !== undefined && kind !== err.kind) err = new ResilientError(err.code, err.message, kind, err.cause);
    this.lastError = err;
    this.opts.logger?.debug(`connection to ${c?.remote ?? '?'} ended: ${err.code} ${err.message}`);
    const t = transition(this.machine, { type: 'lost', kind: err.kind, retryAtOnce: retriesAtOnce(err.code) }, this.policy);
    if (s === 'open') {
      this.endpoints.lost();
      this.events.emit('close', { error: err, willReconnect: t.machine.state === 'reconnecting' });
    }
    this.events.emit('error', err);
    this.apply(t, err);
  }

  private scheduleRetry(t: Transition, error: ResilientError): void {
    const retry = t.retry as NonNullable<Transition['retry']>;
    const delayMs = retry.immediate ? 0 : backoffDelay(this.opts.reconnect, retry.attempt, this.lastDelay, this.opts.random);
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
      t.giveUp === 'exhausted'
        ? sdkError('ERR_RETRIES_EXHAUSTED', `gave up after ${t.machine.retries} retries: ${cause?.code ?? 'unknown'}`, cause)
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
    const c = this.link ?? this.lastLink;
    if (this.link?.isOpen) this.events.emit('close', { willReconnect: false });
    this.link = undefined;
    c?.destroy();
    // closed only once the socket handle is released: close() leaves nothing behind.
    if (c) void c.closed.then(() => this.dispatch({ type: 'closed' }));
    else this.dispatch({ type: 'closed' });
  }

  private finishClose(destroyReason: Error | undefined): void {
    this.timers.clearAll();
    this.link?.destroy();
    this.link = undefined;
    const left = this.outbound.rejectAll(sdkError('ERR_CLOSED', 'client closed before the message was acknowledged', destroyReason));
    if (left.length > 0) this.abandoned = left;
    const closed = sdkError('ERR_CLOSED', 'client closed');
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(closed);
    this.onClosed();
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
