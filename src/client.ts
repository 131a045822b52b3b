/**
 * ResilientClient: wires the pure layers (state machine, backoff, delivery)
 * to one ClientConnection at a time, and owns every timer it starts.
 */
import { EventEmitter } from 'eventemitter3';
import { performance } from 'node:perf_hooks';
import { backoffDelay } from './backoff';
import { ClientConnection } from './connection';
import { InboundTracker, OutboundWindow } from './delivery';
import { ErrorKind, ResilientError, classifyError as defaultClassify, sdkError } from './errors';
import { ClientOptions, ResolvedOptions, resolveOptions } from './options';
import { PROTOCOL_VERSION, Welcome } from './protocol/frames';
import { ClientState, INITIAL_MACHINE, Machine, MachineEvent, Transition, transition } from './state';

export interface StateChangeEvent {
  from: ClientState;
  to: ClientState;
  reason?: ResilientError;
}
export interface OpenEvent {
  sessionId: string;
  /** True when the server still had the session: nothing was lost. */
  resumed: boolean;
  /** Retries it took to get here (0: first try). */
  attempt: number;
}
export interface CloseEvent {
  error?: ResilientError;
  willReconnect: boolean;
}
export interface ReconnectingEvent {
  /** 1-based number of this retry. */
  attempt: number;
  delayMs: number;
  error: ResilientError;
}
export interface MessageMeta {
  /** The sender's id for this message: stable across resends. */
  id: number;
  /** The session it arrived in. */
  sessionId: string;
}

export interface ClientEvents {
  stateChange: (e: StateChangeEvent) => void;
  open: (e: OpenEvent) => void;
  close: (e: CloseEvent) => void;
  reconnecting: (e: ReconnectingEvent) => void;
  message: (payload: Buffer, meta: MessageMeta) => void;
  heartbeat: (e: { rttMs: number }) => void;
  giveUp: (err: ResilientError) => void;
  error: (err: ResilientError) => void;
  dropped: (e: { payload: Buffer; error: ResilientError }) => void;
}

export interface ClientStats {
  state: ClientState;
  sessionId: string | undefined;
  /** Connections opened after the first one. */
  reconnects: number;
  /** Consecutive retries since the last stable connection. */
  retries: number;
  lastRttMs: number | undefined;
  queued: number;
  inFlight: number;
  queuedBytes: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  duplicatesDropped: number;
}

export interface SendOptions {
  /** Reject with ERR_MESSAGE_EXPIRED if not written within this many ms. */
  ttlMs?: number;
}

export class ResilientClient extends EventEmitter<ClientEvents> {
  private readonly opts: ResolvedOptions;
  private machine: Machine = INITIAL_MACHINE;
  private conn: ClientConnection | undefined;
  /** The connection that ended last; close() waits for its socket to be released. */
  private lastConn: ClientConnection | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastDelay = 0;
  private attemptNo = 0;
  private everOpened = false;
  private readonly outbound: OutboundWindow;
  private inbound = new InboundTracker();
  private sessionId: string | undefined;
  private counters = { reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, duplicatesDropped: 0 };
  private lastRtt: number | undefined;
  private lastError: ResilientError | undefined;
  /** Payloads rejected by the last giveUp or close, still reported by pending(). */
  private abandoned: Buffer[] = [];
  private connectWaiters: Array<{ resolve: () => void; reject: (e: ResilientError) => void }> = [];
  private closePromise: Promise<void> | undefined;
  private closeResolve: (() => void) | undefined;
  private readonly onAbort = (): void => void this.close();
  private readonly classify = (err: unknown): ErrorKind => this.opts.classifyError?.(err) ?? defaultClassify(err);

  constructor(options: ClientOptions) {
    super();
    this.opts = resolveOptions(options);
    this.outbound = new OutboundWindow(this.opts.queue);
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Current state of the reconnect state machine. */
  get state(): ClientState {
    return this.machine.state;
  }

  /** Resolves when open; rejects on a fatal error or when retries are exhausted. */
  connect(): Promise<void> {
    const s = this.machine.state;
    if (s === 'open') return Promise.resolve();
    if (s === 'closing' || s === 'closed') return Promise.reject(sdkError('ERR_CLOSED', 'client is closed'));
    if (this.opts.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (s === 'idle' || s === 'failed') this.dispatch({ type: 'connect' });
    return p;
  }

  /**
   * Sends a message. Resolves when the server acknowledged it; rejects with
   * ERR_QUEUE_FULL, ERR_FRAME_TOO_LARGE, ERR_MESSAGE_EXPIRED, ERR_CLOSED or
   * ERR_RETRIES_EXHAUSTED. Accepted while idle, connecting or reconnecting.
   */
  send(data: Buffer | Uint8Array | string, options: SendOptions = {}): Promise<void> {
    const s = this.machine.state;
    if (s === 'closing' || s === 'closed' || s === 'failed') {
      return Promise.reject(sdkError('ERR_CLOSED', `cannot send in state '${s}'`));
    }
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const maxPayload = this.maxPayloadBytes();
    if (payload.length > maxPayload) {
      return Promise.reject(sdkError('ERR_FRAME_TOO_LARGE', `message of ${payload.length} bytes exceeds the ${maxPayload}-byte limit of a frame`));
    }
    let expiresAt = Infinity;
    if (options.ttlMs !== undefined) {
      if (typeof options.ttlMs !== 'number' || !(options.ttlMs > 0)) {
        return Promise.reject(new TypeError(`options.ttlMs must be a number > 0, got ${String(options.ttlMs)}`));
      }
      expiresAt = performance.now() + options.ttlMs;
    }
    return new Promise<void>((resolve, reject) => {
      const r = this.outbound.enqueue(payload, expiresAt, resolve, reject);
      for (const d of r.dropped) this.emit('dropped', { payload: d.payload, error: sdkError('ERR_QUEUE_FULL', `message ${d.id} dropped`) });
      if (!r.entry) return;
      if (expiresAt !== Infinity) this.armTtl();
      this.pump();
    });
  }

  /**
   * Payloads accepted but not acknowledged, in order: those still held, after
   * those rejected by the last giveUp or close (so the app can persist them).
   */
  pending(): Buffer[] {
    const held = this.outbound.pending();
    return this.abandoned.length === 0 ? held : [...this.abandoned, ...held];
  }

  stats(): ClientStats {
    return {
      state: this.machine.state,
      sessionId: this.sessionId,
      reconnects: this.counters.reconnects,
      retries: this.machine.retries,
      lastRttMs: this.lastRtt,
      queued: this.outbound.queued,
      inFlight: this.outbound.inFlight,
      queuedBytes: this.outbound.sizeBytes,
      messagesIn: this.counters.messagesIn,
      messagesOut: this.counters.messagesOut,
      bytesIn: this.counters.bytesIn + (this.conn?.bytesIn ?? 0),
      bytesOut: this.counters.bytesOut + (this.conn?.bytesOut ?? 0),
      duplicatesDropped: this.counters.duplicatesDropped,
    };
  }

  /**
   * Graceful close: waits up to closeTimeoutMs for unacknowledged messages,
   * says BYE, and leaves no socket, timer or listener behind. What is still
   * unacknowledged then is rejected with ERR_CLOSED (and stays in pending()).
   * Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => (this.closeResolve = resolve));
    const s = this.machine.state;
    if (s === 'closed') {
      this.finishClose();
      return this.closePromise;
    }
    this.dispatch({ type: 'close' });
    return this.closePromise;
  }

  /** Closes now without waiting for acknowledgements. */
  destroy(): Promise<void> {
    const p = this.close();
    if (this.machine.state === 'closing') this.completeClosing();
    return p;
  }

  /** Messages as an async iterator; it ends when the client closes or fails. */
  async *messages(): AsyncGenerator<Buffer, void, undefined> {
    const buffered: Buffer[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const onMessage = (m: Buffer): void => {
      buffered.push(m);
      wake?.();
    };
    const onState = (e: StateChangeEvent): void => {
      if (e.to === 'closed' || e.to === 'failed') {
        done = true;
        wake?.();
      }
    };
    this.on('message', onMessage);
    this.on('stateChange', onState);
    try {
      for (;;) {
        const next = buffered.shift();
        if (next) {
          yield next;
          continue;
        }
        if (done || this.machine.state === 'closed' || this.machine.state === 'failed') return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('message', onMessage);
      this.off('stateChange', onState);
    }
  }

  // ---- state machine ------------------------------------------------------

  private dispatch(event: MachineEvent, reason?: ResilientError): Transition {
    const t = transition(this.machine, event, {
      enabled: this.opts.reconnect.enabled,
      maxRetries: this.opts.reconnect.maxRetries,
    });
    this.machine = t.machine;
    const to = t.machine.state;
    if (t.from !== to) {
      const line = `${t.from} -> ${to}${reason ? ` (${reason.code})` : ''}`;
      if (to === 'failed') this.opts.logger?.warn(line);
      else this.opts.logger?.info(line);
      this.emit('stateChange', reason ? { from: t.from, to, reason } : { from: t.from, to });
      this.enter(t, reason);
    }
    return t;
  }

  private enter(t: Transition, reason: ResilientError | undefined): void {
    switch (t.machine.state) {
      case 'connecting':
        this.openConnection();
        break;
      case 'reconnecting':
        this.scheduleRetry(t, reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
        break;
      case 'failed':
        this.onFailed(t, reason);
        break;
      case 'closing':
        this.beginClosing();
        break;
      case 'closed':
        this.finishClose();
        break;
      default:
        break;
    }
  }

  private openConnection(): void {
    this.lastConn = undefined;
    const eps = this.opts.endpoints;
    const endpoint = eps[this.attemptNo % eps.length] as (typeof eps)[number];
    this.attemptNo++;
    const hb = this.opts.heartbeat;
    this.conn = new ClientConnection(
      {
        endpoint,
        tls: this.opts.tls,
        connectTimeoutMs: this.opts.connectTimeoutMs,
        keepAliveMs: this.opts.keepAliveMs,
        heartbeat: hb,
        maxFrameBytes: this.opts.maxFrameBytes,
        unref: this.opts.unref,
        classify: this.classify,
        now: () => performance.now(),
        hello: {
          v: PROTOCOL_VERSION,
          clientId: this.opts.clientId,
          heartbeatMs: hb ? hb.intervalMs : 0,
          ...(this.sessionId ? { sessionId: this.sessionId, lastSeen: this.inbound.lastDelivered } : {}),
          ...(this.opts.token !== undefined ? { token: this.opts.token } : {}),
        },
      },
      this.hooksFor(),
    );
  }

  private hooksFor(): ConstructorParameters<typeof ClientConnection>[1] {
    return {
      onOpen: (w) => this.onOpen(w),
      onData: (id, payload) => this.onData(id, payload),
      onChunkDone: () => {
        const ack = this.inbound.takeAck();
        if (ack !== undefined) this.conn?.sendAck(ack);
      },
      onAck: (id) => this.onAck(id),
      onPong: (rttMs) => {
        this.lastRtt = rttMs;
        this.emit('heartbeat', { rttMs });
      },
      onDrain: () => this.pump(),
      onDown: (err) => this.onDown(err),
    };
  }

  private onOpen(w: Welcome): void {
    const resumed = w.resumed && w.sessionId === this.sessionId;
    if (!resumed) {
      // A new session: the server's ids start again; ours keep counting so
      // every message keeps one id across the restart (at-least-once).
      this.inbound = new InboundTracker();
    }
    this.sessionId = w.sessionId;
    this.counters.messagesOut += this.outbound.resume(w.acked);
    if (this.everOpened) this.counters.reconnects++;
    this.everOpened = true;
    const attempt = this.machine.retries;
    this.dispatch({ type: 'established' });
    this.armStable();
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.emit('open', { sessionId: w.sessionId, resumed, attempt });
    this.pump();
  }

  private onData(id: number, payload: Buffer): void {
    if (!this.inbound.accept(id)) {
      this.counters.duplicatesDropped++;
      return;
    }
    this.counters.messagesIn++;
    this.emit('message', payload, { id, sessionId: this.sessionId as string });
  }

  private onAck(id: number): void {
    this.counters.messagesOut += this.outbound.ack(id);
    if (this.machine.state === 'closing' && this.outbound.size === 0) this.conn?.end('client closing');
  }

  /** Writes queued messages while the connection takes them. */
  private pump(): void {
    const c = this.conn;
    if (!c || !c.isOpen) return;
    const max = c.maxPayloadBytes;
    while (!c.blocked) {
      const e = this.outbound.takeNext();
      if (!e) break;
      if (e.payload.length > max) {
        // Accepted before the server told us its (smaller) frame limit.
        this.outbound.discardTaken(
          sdkError('ERR_FRAME_TOO_LARGE', `message of ${e.payload.length} bytes exceeds the server's limit of ${max}`),
        );
        continue;
      }
      c.sendData(e.id, e.payload);
    }
  }

  private onDown(err: ResilientError): void {
    const c = this.conn;
    this.conn = undefined;
    this.lastConn = c;
    if (c) {
      this.counters.bytesIn += c.bytesIn;
      this.counters.bytesOut += c.bytesOut;
    }
    this.clearTimer('stableTimer');
    this.outbound.rewind();
    const s = this.machine.state;
    if (s === 'closing') {
      this.emit('close', { willReconnect: false });
      this.completeClosing();
      return;
    }
    this.lastError = err;
    this.opts.logger?.debug(`connection to ${c?.remote ?? '?'} ended: ${err.code} ${err.message}`);
    const wasOpen = s === 'open';
    const t = transition(this.machine, { type: 'lost', kind: err.kind }, {
      enabled: this.opts.reconnect.enabled,
      maxRetries: this.opts.reconnect.maxRetries,
    });
    if (wasOpen) this.emit('close', { error: err, willReconnect: t.machine.state === 'reconnecting' });
    this.emit('error', err);
    this.dispatch({ type: 'lost', kind: err.kind }, err);
  }

  private scheduleRetry(t: Transition, error: ResilientError): void {
    const retry = t.retry as NonNullable<Transition['retry']>;
    const r = this.opts.reconnect;
    const delayMs = retry.immediate ? 0 : backoffDelay(r, retry.attempt, this.lastDelay, this.opts.random);
    this.lastDelay = delayMs;
    this.emit('reconnecting', { attempt: retry.attempt + 1, delayMs, error });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.machine.state === 'reconnecting') this.dispatch({ type: 'retryDue' });
    }, delayMs);
    if (this.opts.unref) this.retryTimer.unref();
  }

  private onFailed(t: Transition, reason: ResilientError | undefined): void {
    this.clearAllTimers();
    const cause = reason ?? this.lastError;
    const err =
      t.giveUp === 'exhausted'
        ? sdkError('ERR_RETRIES_EXHAUSTED', `gave up after ${t.machine.retries} retries: ${cause?.code ?? 'unknown'}`, cause)
        : (cause ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
    // pending() keeps showing what was never acknowledged, for the app to persist.
    this.abandoned = this.outbound.rejectAll(err);
    this.emit('giveUp', err);
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(err);
  }

  private beginClosing(): void {
    this.clearTimer('retryTimer');
    this.clearTimer('stableTimer');
    const c = this.conn;
    if (!c || !c.isOpen) {
      this.completeClosing();
      return;
    }
    if (this.outbound.size === 0) {
      c.end('client closing');
    } else {
      this.pump();
    }
    this.closeTimer = setTimeout(() => this.completeClosing(), this.opts.closeTimeoutMs);
  }

  /** Ends whatever is left of the connection and moves to closed. */
  private completeClosing(): void {
    if (this.machine.state !== 'closing') return;
    this.clearAllTimers();
    const c = this.conn ?? this.lastConn;
    this.conn = undefined;
    c?.destroy();
    // closed only once the socket handle is released: close() leaves nothing behind.
    if (c) void c.closed.then(() => this.dispatch({ type: 'closed' }));
    else this.dispatch({ type: 'closed' });
  }

  private finishClose(): void {
    this.clearAllTimers();
    this.conn?.destroy();
    this.conn = undefined;
    const left = this.outbound.rejectAll(sdkError('ERR_CLOSED', 'client closed before the message was acknowledged'));
    if (left.length > 0) this.abandoned = left;
    const closed = sdkError('ERR_CLOSED', 'client closed');
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(closed);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.closeResolve?.();
  }

  private maxPayloadBytes(): number {
    return this.conn?.isOpen ? this.conn.maxPayloadBytes : this.opts.maxFrameBytes - 9;
  }

  private armStable(): void {
    this.clearTimer('stableTimer');
    this.stableTimer = setTimeout(() => {
      this.stableTimer = undefined;
      if (this.machine.state === 'open') this.dispatch({ type: 'stable' });
    }, this.opts.reconnect.resetAfterMs);
    this.stableTimer.unref();
  }

  private armTtl(): void {
    if (this.ttlTimer) return;
    const next = this.outbound.nextExpiry();
    if (next === Infinity) return;
    this.ttlTimer = setTimeout(() => {
      this.ttlTimer = undefined;
      this.outbound.expire(performance.now());
      this.armTtl();
    }, Math.max(0, next - performance.now()) + 1);
    if (this.opts.unref) this.ttlTimer.unref();
  }

  private clearTimer(name: 'retryTimer' | 'stableTimer' | 'ttlTimer' | 'closeTimer'): void {
    const t = this[name];
    if (t) clearTimeout(t);
    this[name] = undefined;
  }

  private clearAllTimers(): void {
    this.clearTimer('retryTimer');
    this.clearTimer('stableTimer');
    this.clearTimer('ttlTimer');
    this.clearTimer('closeTimer');
  }
}
