/**
 * ResilientClient: the public API (promises, abort signals, events, stats).
 * The lifecycle (lifecycle.ts) applies the state machine's transitions and
 * owns every connection and timer. Over 300 lines: the public API is one
 * class, each method a few lines of argument checks and promise plumbing
 * with its JSDoc; the work is in lifecycle.ts and core/delivery.ts.
 */
import { EventEmitter } from 'eventemitter3';
import { performance } from 'node:perf_hooks';
import { ResilientError, sdkError } from '../core/errors';
import type { ClientState } from '../core/state';
import { channels, publish } from '../io/diagnostics';
import { loadUserTimeout } from '../io/user-timeout';
import { withAbort } from './abort';
import { pumpSoon } from './flush';
import { Lifecycle } from './lifecycle';
import { newClientId } from './client-id';
import { ClientOptions, ResolvedOptions, resolveOptions } from './options';
import type { ClientEvents, ClientStats, SendOptions, StateChangeEvent } from './types';
import { noop } from '../core/noop';

export type * from './types';

/** The options of a send() given none: one object, not one per call. */
const NO_OPTIONS: SendOptions = Object.freeze({});

/** What send() accepts: bytes or text for the native protocol, the codec's message type otherwise. */
export type Sendable<M> = [M] extends [Buffer] ? Buffer | Uint8Array | string : M;

export class ResilientClient<M = Buffer> extends EventEmitter<ClientEvents<M>> {
  private readonly life: Lifecycle<M>;
  private closePromise: Promise<void> | undefined;
  /** The `signal` option's listener; only a client given one has it. */
  private readonly onAbort: (() => void) | undefined;

  constructor(options: ClientOptions<M>) {
    super();
    const opts = resolveOptions(options);
    this.life = new Lifecycle(opts, this, newClientId(options.clientId));
    // Native protocol: a handshake's link.send is encoded and bounded like a send().
    const handshake = this.life.handshake;
    if (handshake && !opts.codec) handshake.encodeAhead = (m) => this.checkedPayload(m as Sendable<M>);
    if (this.opts.queue.overflow === 'drop-oldest') {
      this.life.outbound.onDropped = (id, payload) => this.emit('dropped', { payload, error: sdkError('ERR_QUEUE_FULL', `message ${id} dropped`) });
    }
    if (this.opts.signal) {
      this.onAbort = (): void => void this.close();
      this.opts.signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** The resolved options (the lifecycle's: no second field per client). */
  private get opts(): ResolvedOptions<M> {
    return this.life.opts;
  }

  /** Current state of the reconnect state machine. */
  get state(): ClientState {
    return this.life.machine.state;
  }

  /**
   * Resolves when open; rejects on a fatal error, when retries are exhausted,
   * when the client is closed, or with ERR_ABORTED when `signal` aborts first
   * (the client keeps trying; close() it to stop).
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    const s = this.life.machine.state;
    if (s === 'open') return Promise.resolve();
    if (s === 'closing' || s === 'closed') return Promise.reject(sdkError('ERR_CLOSED', 'client is closed'));
    if (this.opts.signal?.aborted || options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    const life = this.life;
    const p = new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      life.addWaiter(waiter);
      withAbort(options.signal, waiter, () => {
        life.connectWaiters = life.connectWaiters.filter((w) => w !== waiter);
      });
    });
    if (s === 'idle' || s === 'failed') {
      if (this.opts.userTimeoutMs !== undefined && life.userTimeout === undefined) {
        // Loaded once, before the first socket: net-keepalive is optional.
        return loadUserTimeout((msg) => this.opts.logger?.warn({ option: 'deadAfterMs' }, msg)).then((setter) => {
          life.userTimeout = setter ?? null;
          if (life.machine.state === 'idle' || life.machine.state === 'failed') life.dispatch({ type: 'connect' });
          return p;
        });
      }
      life.dispatch({ type: 'connect' });
    }
    return p;
  }

  /**
   * Sends a message. Native protocol: resolves when the server acknowledged
   * it. With a codec: resolves once written to the kernel (or confirmed, per
   * `delivery`). Rejects with ERR_QUEUE_FULL, ERR_FRAME_TOO_LARGE,
   * ERR_MESSAGE_EXPIRED, ERR_ABORTED, ERR_CLOSED or ERR_RETRIES_EXHAUSTED.
   * Accepted while idle, connecting or reconnecting (queued). Written on the
   * next tick (one pump for a synchronous run of sends, client/flush.ts).
   */
  send(data: Sendable<M>, options: SendOptions = NO_OPTIONS): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    let payload: Buffer;
    let expiresAt: number;
    try {
      expiresAt = expiryOf(options);
      payload = this.checkedPayload(data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    // No executor closure per call: the shared one leaves the settlers in the slot, read at once
    // (a 'dropped' listener run by enqueue() may send() again and refill it).
    const promise = new Promise<void>(takeSettlers);
    const resolve = settlers.resolve;
    const reject = settlers.reject;
    settlers.resolve = settlers.reject = noop;
    try {
      // The window holds the promise's own resolving functions: nothing per message but its slots.
      const id = options.signal ? this.enqueueAbortable(payload, expiresAt, resolve, reject, options.signal) : this.life.outbound.enqueue(payload, expiresAt, resolve, reject);
      if (id === undefined) return promise;
      // Per message: gated here so no closure is built when nobody subscribes.
      if (channels.clientMessage.hasSubscribers) this.publishOut(id, payload);
      this.accepted(expiresAt, payload.length);
    } catch (err) {
      // What a throwing executor would have done: the promise rejects, send() does not throw.
      reject(err as ResilientError);
    }
    return promise;
  }

  /**
   * A send with a signal: its message settles through wrappers that drop the
   * abort listener, and aborting withdraws it (if never written) by its own
   * reject wrapper. Returns its id, or undefined when refused (already rejected).
   */
  private enqueueAbortable(payload: Buffer, expiresAt: number, resolve: () => void, reject: (err: ResilientError) => void, signal: AbortSignal): number | undefined {
    const outbound = this.life.outbound;
    const onAbort = (): void => void outbound.withdraw(rejectOne, sdkError('ERR_ABORTED', 'send aborted before it was written'));
    const resolveOne = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const rejectOne = (err: ResilientError): void => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    };
    const id = outbound.enqueue(payload, expiresAt, resolveOne, rejectOne);
    if (id !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    return id;
  }

  /**
   * Sends several messages in order with one promise: it resolves once every
   * one is acknowledged (native protocol) or written / confirmed (codec, per
   * `delivery`), and rejects with the first error. The batch is accepted
   * whole or not at all: one that does not fit the queue bounds is refused
   * with ERR_QUEUE_FULL and none of it is queued; one message over the frame
   * limit refuses the batch with ERR_FRAME_TOO_LARGE. `options` apply to
   * every message; aborting `signal` withdraws those not yet written.
   */
  sendMany(payloads: readonly Sendable<M>[], options: SendOptions = NO_OPTIONS): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    if (!Array.isArray(payloads)) return Promise.reject(new TypeError(`sendMany() takes an array of messages, got ${typeof payloads}`));
    let encoded: Buffer[];
    let expiresAt: number;
    try {
      expiresAt = expiryOf(options);
      encoded = payloads.map((p) => this.checkedPayload(p));
    } catch (err) {
      return Promise.reject(err);
    }
    if (options.signal?.aborted) return Promise.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
    if (encoded.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const outbound = this.life.outbound;
      const signal = options.signal;
      let left = encoded.length;
      let settled = false;
      const onAbort = (): void => void outbound.withdraw(rejectOne, sdkError('ERR_ABORTED', 'sendMany aborted before its messages were written'));
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      // Every entry of the batch shares these two: the batch settles on the last ack or the first error.
      const resolveOne = (): void => void (--left === 0 && settle() && resolve());
      const rejectOne = (err: ResilientError): void => void (settle() && reject(err));
      const firstId = outbound.peekNextId;
      const bytesBefore = outbound.sizeBytes;
      if (outbound.enqueueAll(encoded, expiresAt, resolveOne, rejectOne) === 0) return;
      if (channels.clientMessage.hasSubscribers) encoded.forEach((p, i) => this.publishOut(firstId + i, p));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.accepted(expiresAt, outbound.sizeBytes - bytesBefore);
    });
  }

  /**
   * Payloads accepted but not acknowledged, in order: those still held, after
   * those rejected by the last giveUp or close (so the app can persist them).
   * With a codec these are the encoded bytes.
   */
  pending(): Buffer[] {
    const held = this.life.outbound.pending();
    const abandoned = this.life.abandoned;
    return abandoned.length === 0 ? held : [...abandoned, ...held];
  }

  /** Counters, queue sizes and the liveness layers in force. */
  stats(): ClientStats {
    const life = this.life;
    const outbound = life.outbound;
    const bytes = life.bytes;
    return {
      state: life.machine.state,
      sessionId: life.sessionId,
      reconnects: life.reconnects,
      retries: life.retries,
      lastRttMs: life.lastRtt,
      queued: outbound.queued,
      inFlight: outbound.inFlight,
      queuedBytes: outbound.sizeBytes,
      messagesIn: life.messagesIn,
      messagesOut: life.messagesOut,
      bytesIn: bytes.in,
      bytesOut: bytes.out,
      duplicatesDropped: life.duplicatesDropped,
      layers: {
        heartbeat: this.opts.heartbeat !== false,
        keepAliveMs: this.opts.keepAliveMs,
        userTimeoutMs: life.userTimeout && this.opts.userTimeoutMs !== undefined ? this.opts.userTimeoutMs : false,
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
    const p = this.startClose(undefined);
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) return this.destroy();
      const onAbort = (): void => void this.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      void p.then(() => signal.removeEventListener('abort', onAbort));
    }
    return p;
  }

  /**
   * `await using client = new ResilientClient(…)`: close() when the scope
   * ends. Node 20.4+ defines `Symbol.asyncDispose` (earlier 20.x need a
   * polyfill loaded before this module).
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Closes now without waiting for acknowledgements. Pending sends reject
   * with ERR_CLOSED (with `err`, if given, as the cause).
   */
  destroy(err?: Error): Promise<void> {
    const p = this.startClose(err);
    if (this.life.machine.state === 'closing') this.life.dispatch({ type: 'destroy', ...(err ? { reason: err } : {}) });
    return p;
  }

  /** The one close promise; the first call moves the machine to closing (or closed). */
  private startClose(reason: Error | undefined): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      this.life.onClosed = () => {
        if (this.onAbort) this.opts.signal?.removeEventListener('abort', this.onAbort);
        resolve();
      };
    });
    this.life.dispatch({ type: 'close', ...(reason ? { reason } : {}) });
    return this.closePromise;
  }

  /** Resolves when the client is closed (by close(), destroy() or its signal). */
  closed(): Promise<void> {
    if (this.life.machine.state === 'closed') return Promise.resolve();
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
    if (this.life.machine.state === state) return Promise.resolve();
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
        if (done || this.life.machine.state === 'closed' || this.life.machine.state === 'failed') return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('message', onMessage);
      this.off('stateChange', onState);
    }
  }

  /** ERR_CLOSED when the client takes no more messages in its state. */
  private refusal(): ResilientError | undefined {
    const s = this.life.machine.state;
    return s === 'closing' || s === 'closed' || s === 'failed' ? sdkError('ERR_CLOSED', `cannot send in state '${s}'`) : undefined;
  }

  /** After `bytes` of messages were queued: the ttl timer if they expire, and one write for this turn of the loop. */
  private accepted(expiresAt: number, bytes: number): void {
    if (expiresAt !== Infinity) this.life.armTtl();
    pumpSoon(this.life, bytes);
  }

  private publishOut(id: number, payload: Buffer): void {
    publish(channels.clientMessage, () => ({ client: this, direction: 'out' as const, id, bytes: payload.length }));
  }

  /** The payload of `data`; throws ERR_FRAME_TOO_LARGE past the frame limit. */
  private checkedPayload(data: Sendable<M>): Buffer {
    const payload = this.encode(data);
    const limit = this.life.maxPayload;
    if (payload.length > limit) throw sdkError('ERR_FRAME_TOO_LARGE', `message of ${payload.length} bytes exceeds the ${limit}-byte limit of a frame`);
    return payload;
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
}


/** Where takeSettlers() leaves the resolving functions of the promise send() is building. */
const settlers: { resolve: () => void; reject: (err: ResilientError) => void } = { resolve: noop, reject: noop };

/** The one executor of every send() promise: a closure per call would be an allocation per message. */
function takeSettlers(resolve: () => void, reject: (err: ResilientError) => void): void {
  settlers.resolve = resolve;
  settlers.reject = reject;
}

/** The absolute expiry of a send's `ttlMs` (Infinity without one); throws a TypeError naming a bad option. */
function expiryOf(options: SendOptions): number {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${String(options)}`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError(`options.signal must be an AbortSignal, got ${String(options.signal)}`);
  if (options.ttlMs === undefined) return Infinity;
  if (typeof options.ttlMs !== 'number' || !(options.ttlMs > 0)) throw new TypeError(`options.ttlMs must be a number > 0, got ${String(options.ttlMs)}`);
  return performance.now() + options.ttlMs;
}
