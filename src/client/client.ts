/**
 * ResilientClient: wires the pure layers (state machine, backoff, delivery)
 * to one connection at a time, and owns every timer it starts.
 */
import { EventEmitter } from 'eventemitter3';
import { performance } from 'node:perf_hooks';
import { backoffDelay } from '../core/backoff';
import type { ClientEvents, ClientStats, SendOptions, StateChangeEvent } from './types';
import { CodecConnection } from '../io/codec-link';
import { ClientConnection } from '../io/native-link';
import { InboundTracker, OutboundWindow } from '../core/delivery';
import { EndpointRotation } from './endpoints';
import { ErrorKind, ResilientError, classifyError as defaultClassify, sdkError } from '../core/errors';
import { ClientOptions, ResolvedOptions, resolveOptions } from './options';
import { PROTOCOL_VERSION } from '../protocol/frames';
import type { ConnectionHooks, OpenInfo, SocketShell } from '../io/link';
import { ClientState, INITIAL_MACHINE, Machine, MachineEvent, Transition, transition } from '../core/state';
import { loadUserTimeout, type UserTimeoutSetter } from '../io/user-timeout';

export type * from './types';

/** What send() accepts: bytes or text for the native protocol, the codec's message type otherwise. */
export type Sendable<M> = [M] extends [Buffer] ? Buffer | Uint8Array | string : M;

type TimerName = 'retryTimer' | 'stableTimer' | 'ttlTimer' | 'closeTimer';

export class ResilientClient<M = Buffer> extends EventEmitter<ClientEvents<M>> {
  private readonly opts: ResolvedOptions<M>;
  private machine: Machine = INITIAL_MACHINE;
  private conn: SocketShell<M> | undefined;
  /** The connection that ended last; close() waits for its socket to be released. */
  private lastConn: SocketShell<M> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastDelay = 0;
  private everOpened = false;
  private readonly endpoints: EndpointRotation;
  private readonly outbound: OutboundWindow;
  private inbound = new InboundTracker();
  private sessionId: string | undefined;
  private maxPayload: number;
  private counters = { reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, duplicatesDropped: 0 };
  private lastRtt: number | undefined;
  private lastError: ResilientError | undefined;
  /** Payloads rejected by the last giveUp or close, still reported by pending(). */
  private abandoned: Buffer[] = [];
  private connectWaiters: Array<{ resolve: () => void; reject: (e: ResilientError) => void }> = [];
  private closePromise: Promise<void> | undefined;
  private closeResolve: (() => void) | undefined;
  /** Set once the last connection is being torn down for close(): it happens once. */
  private tearingDown = false;
  private destroyReason: Error | undefined;
  private userTimeout: UserTimeoutSetter | undefined;
  private readonly onAbort = (): void => void this.close();
  private readonly classify = (err: unknown): ErrorKind => this.opts.classifyError?.(err) ?? defaultClassify(err);

  constructor(options: ClientOptions<M>) {
    super();
    this.opts = resolveOptions(options);
    this.outbound = new OutboundWindow(this.opts.queue);
    this.endpoints = new EndpointRotation(this.opts.endpoints, this.opts.randomize, this.opts.random);
    this.maxPayload = this.opts.codec ? Infinity : this.opts.maxFrameBytes - 9;
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Current state of the reconnect state machine. */
  get state(): ClientState {
    return this.machine.state;
  }

  /**
   * Resolves when open; rejects on a fatal error, when retries are exhausted,
   * when the client is closed, or with ERR_ABORTED when `signal` aborts first
   * (the client keeps trying; close() it to stop).
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    const s = this.machine.state;
    if (s === 'open') return Promise.resolve();
    if (s === 'closing' || s === 'closed') return Promise.reject(sdkError('ERR_CLOSED', 'client is closed'));
    if (this.opts.signal?.aborted || options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    const p = new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      this.connectWaiters.push(waiter);
      withAbort(options.signal, waiter, () => {
        this.connectWaiters = this.connectWaiters.filter((w) => w !== waiter);
      });
    });
    if (s === 'idle' || s === 'failed') {
      if (this.opts.userTimeoutMs !== undefined && this.userTimeout === undefined) {
        // Loaded once, before the first socket: net-keepalive is optional.
        return loadUserTimeout().then((setter) => {
          this.userTimeout = setter ?? null;
          if (this.machine.state === 'idle' || this.machine.state === 'failed') this.dispatch({ type: 'connect' });
          return p;
        });
      }
      this.dispatch({ type: 'connect' });
    }
    return p;
  }

  /**
   * Sends a message. Native protocol: resolves when the server acknowledged
   * it. With a codec: resolves once written to the kernel. Rejects with
   * ERR_QUEUE_FULL, ERR_FRAME_TOO_LARGE, ERR_MESSAGE_EXPIRED, ERR_ABORTED,
   * ERR_CLOSED or ERR_RETRIES_EXHAUSTED. Accepted while idle, connecting or
   * reconnecting (queued).
   */
  send(data: Sendable<M>, options: SendOptions = {}): Promise<void> {
    const s = this.machine.state;
    if (s === 'closing' || s === 'closed' || s === 'failed') {
      return Promise.reject(sdkError('ERR_CLOSED', `cannot send in state '${s}'`));
    }
    let payload: Buffer;
    try {
      payload = this.encode(data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (payload.length > this.maxPayload) {
      return Promise.reject(sdkError('ERR_FRAME_TOO_LARGE', `message of ${payload.length} bytes exceeds the ${this.maxPayload}-byte limit of a frame`));
    }
    let expiresAt = Infinity;
    if (options.ttlMs !== undefined) {
      if (typeof options.ttlMs !== 'number' || !(options.ttlMs > 0)) {
        return Promise.reject(new TypeError(`options.ttlMs must be a number > 0, got ${String(options.ttlMs)}`));
      }
      expiresAt = performance.now() + options.ttlMs;
    }
    if (options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    return new Promise<void>((resolve, reject) => {
      const r = this.outbound.enqueue(payload, expiresAt, resolve, reject);
      for (const d of r.dropped) this.emit('dropped', { payload: d.payload, error: sdkError('ERR_QUEUE_FULL', `message ${d.id} dropped`) });
      const entry = r.entry;
      if (!entry) return;
      if (expiresAt !== Infinity) this.armTtl();
      if (options.signal) {
        const signal = options.signal;
        const onAbort = (): void => void this.outbound.withdraw(entry, sdkError('ERR_ABORTED', 'send aborted before it was written'));
        signal.addEventListener('abort', onAbort, { once: true });
        const cleanup = (): void => signal.removeEventListener('abort', onAbort);
        entry.onSettle = cleanup;
      }
      this.pump();
    });
  }

  /**
   * Payloads accepted but not acknowledged, in order: those still held, after
   * those rejected by the last giveUp or close (so the app can persist them).
   * With a codec these are the encoded bytes.
   */
  pending(): Buffer[] {
    const held = this.outbound.pending();
    return this.abandoned.length === 0 ? held : [...this.abandoned, ...held];
  }

  stats(): ClientStats {
    const hb = this.opts.heartbeat;
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
      layers: {
        heartbeat: hb !== false,
        keepAliveMs: this.opts.keepAliveMs,
        userTimeoutMs: this.userTimeout && this.opts.userTimeoutMs !== undefined ? this.opts.userTimeoutMs : false,
      },
    };
  }

  /**
   * Graceful close: waits up to closeTimeoutMs for unacknowledged messages,
   * says BYE, and leaves no socket, timer or listener behind. What is still
   * unacknowledged then is rejected with ERR_CLOSED (and stays in pending()).
   * Idempotent: every call returns the same promise. Aborting `signal` turns
   * the graceful close into destroy().
   */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closePromise) {
      this.closePromise = new Promise<void>((resolve) => (this.closeResolve = resolve));
      if (this.machine.state === 'closed') this.finishClose();
      else this.dispatch({ type: 'close' });
    }
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) return this.destroy();
      const onAbort = (): void => void this.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.closePromise.then(() => signal.removeEventListener('abort', onAbort));
    }
    return this.closePromise;
  }

  /**
   * Closes now without waiting for acknowledgements. Pending sends reject
   * with ERR_CLOSED (with `err`, if given, as the cause).
   */
  destroy(err?: Error): Promise<void> {
    if (err) this.destroyReason = err;
    const p = this.close();
    if (this.machine.state === 'closing') this.completeClosing();
    return p;
  }

  /** Resolves when the client is closed (by close(), destroy() or its signal). */
  closed(): Promise<void> {
    if (this.machine.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const on = (e: StateChangeEvent): void => {
        if (e.to !== 'closed') return;
        this.off('stateChange', on);
        resolve();
      };
      this.on('stateChange', on);
    });
  }

  /**
   * Resolves when the client reaches `state` (at once if it is there).
   * Rejects with ERR_ABORTED when `signal` aborts, and with ERR_CLOSED if the
   * client closes first (unless `state` is 'closed').
   */
  waitFor(state: ClientState, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.machine.state === state) return Promise.resolve();
    if (options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    return new Promise<void>((resolve, reject) => {
      const on = (e: StateChangeEvent): void => {
        if (e.to === state) return settle(undefined);
        if (e.to === 'closed') settle(sdkError('ERR_CLOSED', `client closed before reaching '${state}'`));
      };
      const onAbort = (): void => settle(sdkError('ERR_ABORTED', 'signal was aborted'));
      const settle = (err: ResilientError | undefined): void => {
        this.off('stateChange', on);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      this.on('stateChange', on);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Messages as an async iterator; it ends when the client closes or fails. */
  async *messages(): AsyncGenerator<M, void, undefined> {
    const buffered: M[] = [];
    let head = 0;
    let wake: (() => void) | undefined;
    let done = false;
    const onMessage = (m: M): void => {
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
        if (head < buffered.length) {
          const next = buffered[head] as M;
          buffered[head++] = undefined as M;
          yield next;
          continue;
        }
        buffered.length = 0;
        head = 0;
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
    const t = transition(this.machine, event, { enabled: this.opts.reconnect.enabled, maxRetries: this.opts.reconnect.maxRetries });
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
        return this.openConnection();
      case 'reconnecting':
        return this.scheduleRetry(t, reason ?? sdkError('ERR_CONNECTION_LOST', 'connection lost'));
      case 'failed':
        return this.onFailed(t, reason);
      case 'closing':
        return this.beginClosing();
      case 'closed':
        return this.finishClose();
      default:
        return;
    }
  }

  private openConnection(): void {
    this.lastConn = undefined;
    const o = this.opts;
    const hb = o.heartbeat;
    const shell = {
      endpoint: this.endpoints.next(),
      tls: o.tls,
      lookup: o.lookup,
      connectTimeoutMs: o.connectTimeoutMs,
      frameTimeoutMs: o.frameTimeoutMs,
      keepAliveMs: o.keepAliveMs,
      unref: o.unref,
      classify: this.classify,
      now: () => performance.now(),
      ...(this.userTimeout && o.userTimeoutMs !== undefined
        ? { onSocketReady: (socket: import('node:net').Socket) => this.userTimeout?.(socket, o.userTimeoutMs as number) }
        : {}),
    };
    const hooks = this.hooks();
    if (o.codec) {
      this.conn = new CodecConnection<M>(
        { ...shell, codec: o.codec, heartbeat: hb ? { intervalMs: hb.intervalMs, timeoutMs: hb.timeoutMs, ...pick(hb) } : false },
        hooks,
      );
      return;
    }
    this.conn = new ClientConnection(
      {
        ...shell,
        heartbeat: hb ? { intervalMs: hb.intervalMs, timeoutMs: hb.timeoutMs } : false,
        maxFrameBytes: o.maxFrameBytes,
        hello: {
          v: PROTOCOL_VERSION,
          clientId: o.clientId,
          heartbeatMs: hb ? Math.round(hb.intervalMs) : 0,
          maxFrameBytes: o.maxFrameBytes,
          ...(this.sessionId ? { sessionId: this.sessionId, lastSeen: this.inbound.lastDelivered } : {}),
          ...(o.token !== undefined ? { token: o.token } : {}),
        },
      },
      hooks as unknown as ConnectionHooks<Buffer>,
    ) as unknown as SocketShell<M>;
  }

  private hooks(): ConnectionHooks<M> {
    return {
      onOpen: (info) => this.onOpen(info),
      onData: (id, message) => this.onData(id, message),
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

  private onOpen(info: OpenInfo): void {
    const resumed = info.resumed && info.sessionId === this.sessionId;
    if (!resumed) {
      // A new session: the server's ids start again; ours keep counting so
      // every message keeps one id across the restart (at-least-once).
      this.inbound = new InboundTracker();
    }
    this.sessionId = info.sessionId;
    this.maxPayload = info.maxPayloadBytes;
    this.counters.messagesOut += this.outbound.resume(info.acked);
    if (this.everOpened) this.counters.reconnects++;
    this.everOpened = true;
    const attempt = this.machine.retries;
    this.dispatch({ type: 'established' });
    this.armStable();
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.emit('open', { sessionId: info.sessionId, resumed, attempt });
    this.pump();
  }

  private onData(id: number, message: M): void {
    if (!this.inbound.accept(id)) {
      this.counters.duplicatesDropped++;
      return;
    }
    this.counters.messagesIn++;
    this.emit('message', message, { id, sessionId: this.sessionId });
  }

  private onAck(id: number): void {
    this.counters.messagesOut += this.outbound.ack(id);
    if (this.machine.state === 'closing' && this.outbound.size === 0) this.conn?.end('client closing');
  }

  /** Writes queued messages while the connection takes them. */
  private pump(): void {
    const c = this.conn;
    if (!c || !c.isOpen) return;
    while (!c.blocked) {
      const e = this.outbound.takeNext();
      if (!e) break;
      if (e.payload.length > this.maxPayload) {
        // Accepted before the server told us its (smaller) frame limit.
        this.outbound.discardTaken(sdkError('ERR_FRAME_TOO_LARGE', `message of ${e.payload.length} bytes exceeds the server's limit of ${this.maxPayload}`));
        continue;
      }
      c.sendMessage(e.id, e.payload);
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
    const kind = this.opts.classifyError?.(err);
    if (kind !== undefined && kind !== err.kind) err = new ResilientError(err.code, err.message, kind, err.cause);
    this.lastError = err;
    this.opts.logger?.debug(`connection to ${c?.remote ?? '?'} ended: ${err.code} ${err.message}`);
    const t = transition(this.machine, { type: 'lost', kind: err.kind }, { enabled: this.opts.reconnect.enabled, maxRetries: this.opts.reconnect.maxRetries });
    if (s === 'open') {
      this.endpoints.lost();
      this.emit('close', { error: err, willReconnect: t.machine.state === 'reconnecting' });
    }
    this.emit('error', err);
    this.dispatch({ type: 'lost', kind: err.kind }, err);
  }

  private scheduleRetry(t: Transition, error: ResilientError): void {
    const retry = t.retry as NonNullable<Transition['retry']>;
    const delayMs = retry.immediate ? 0 : backoffDelay(this.opts.reconnect, retry.attempt, this.lastDelay, this.opts.random);
    this.lastDelay = delayMs;
    this.emit('reconnecting', { attempt: retry.attempt + 1, delayMs, error });
    this.retryTimer = this.timer(delayMs, () => {
      this.retryTimer = undefined;
      if (this.machine.state === 'reconnecting') this.dispatch({ type: 'retryDue' });
    });
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
    if (!c || !c.isOpen) return this.completeClosing();
    if (this.outbound.size === 0) c.end('client closing');
    else this.pump();
    this.closeTimer = this.timer(this.opts.closeTimeoutMs, () => this.completeClosing());
  }

  /** Ends whatever is left of the connection and moves to closed. */
  private completeClosing(): void {
    if (this.machine.state !== 'closing' || this.tearingDown) return;
    this.tearingDown = true;
    this.clearAllTimers();
    const c = this.conn ?? this.lastConn;
    if (this.conn?.isOpen) this.emit('close', { willReconnect: false });
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
    const left = this.outbound.rejectAll(sdkError('ERR_CLOSED', 'client closed before the message was acknowledged', this.destroyReason));
    if (left.length > 0) this.abandoned = left;
    const closed = sdkError('ERR_CLOSED', 'client closed');
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(closed);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.closeResolve?.();
  }

  private encode(data: Sendable<M>): Buffer {
    if (this.opts.codec) {
      const bytes = this.opts.codec.encode(data as M);
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    if (typeof data === 'string') return Buffer.from(data, 'utf8');
    if (Buffer.isBuffer(data)) return data;
    if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError(`send() takes a Buffer, Uint8Array or string, got ${typeof data}`);
  }

  private armStable(): void {
    this.clearTimer('stableTimer');
    this.stableTimer = this.timer(this.opts.reconnect.resetAfterMs, () => {
      this.stableTimer = undefined;
      if (this.machine.state === 'open') {
        this.lastDelay = 0;
        this.dispatch({ type: 'stable' });
      }
    });
    // An open socket keeps the process alive anyway; this timer need not.
    this.stableTimer.unref();
  }

  private armTtl(): void {
    if (this.ttlTimer) return;
    const next = this.outbound.nextExpiry();
    if (next === Infinity) return;
    this.ttlTimer = this.timer(Math.max(0, next - performance.now()) + 1, () => {
      this.ttlTimer = undefined;
      this.outbound.expire(performance.now());
      this.armTtl();
    });
  }

  /** A timer owned by this client; unref'd when the `unref` option is set. */
  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(fn, ms);
    if (this.opts.unref) t.unref();
    return t;
  }

  private clearTimer(name: TimerName): void {
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

function pick<M>(hb: { mode: 'ping' | 'inbound'; createPing?: (seq: number) => M; isPong?: (m: M) => boolean }) {
  if (hb.mode === 'inbound') return {};
  return { ...(hb.createPing ? { createPing: hb.createPing } : {}), ...(hb.isPong ? { isPong: hb.isPong } : {}) };
}

/** Rejects the waiter with ERR_ABORTED when `signal` aborts; `remove` unregisters it. */
function withAbort(
  signal: AbortSignal | undefined,
  waiter: { resolve: () => void; reject: (e: ResilientError) => void },
  remove: () => void,
): void {
  if (!signal) return;
  const onAbort = (): void => {
    remove();
    waiter.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const { resolve, reject } = waiter;
  waiter.resolve = () => {
    signal.removeEventListener('abort', onAbort);
    resolve();
  };
  waiter.reject = (e) => {
    signal.removeEventListener('abort', onAbort);
    reject(e);
  };
}
