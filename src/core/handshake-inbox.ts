/**
 * The inbound side of a connection's handshake (`handshake(link)`): what
 * `link.receive(match?)` resolves with, and where the messages no receive
 * wants wait.
 *
 * The handshake owns the connection until it resolves: every inbound message
 * (after the heartbeat's `answer` and `isPong` have taken theirs) is pushed
 * here, and none is emitted to the app. While the inbox runs, the queue is
 * held: only `link.send` writes, so the handshake's messages go ahead of
 * everything queued. After `end()` the inbox takes nothing more; messages it
 * still buffered are returned to the caller (for a log line), never emitted.
 *
 * Pure: no socket, no timer. The deadline and the connection's loss arrive
 * as the abort of the handshake's signal.
 */
import { ResilientError, sdkError } from './errors';

/**
 * Messages that may wait for a later `receive` before the handshake fails
 * with ERR_PROTOCOL. A chat server's welcome burst is about 20 lines (IRC
 * 001-005, MOTD); fifty times that leaves room for long MOTDs and device
 * banners while bounding what a hostile server can make us hold.
 */
export const HANDSHAKE_BUFFER_MESSAGES = 1_000;

interface Waiter<M> {
  readonly match: ((m: M) => boolean) | undefined;
  resolve(m: M): void;
  reject(err: unknown): void;
}

/**
 * Marks a receive's promise as handled, so one the handshake left behind (the
 * losing branch of a Promise.race, a receive never awaited) does not crash the
 * process with an unhandled rejection when the handshake ends or aborts. An
 * `await` on it still sees the rejection.
 */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** The error a receive rejects with when the handshake's signal aborts. */
function abortError(reason: unknown): ResilientError {
  if (reason instanceof ResilientError) return reason;
  return sdkError('ERR_CONNECTION_LOST', 'the connection was lost during the handshake', reason);
}

/**
 * One per connection attempt with a handshake: created when the handshake
 * starts, with the handshake's signal, and ended when it settles.
 */
export class HandshakeInbox<M> {
  private buffer: M[] = [];
  private waiters: Array<Waiter<M>> = [];
  /** Set once the handshake failed (signal aborted, buffer overflow). */
  private failure: ResilientError | undefined;
  private ended = false;
  private readonly onAbort = (): void => {
    this.fail(abortError(this.signal.reason));
  };

  constructor(
    private readonly signal: AbortSignal,
    private readonly maxBuffered = HANDSHAKE_BUFFER_MESSAGES,
  ) {
    if (signal.aborted) this.failure = abortError(signal.reason);
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * True while the handshake owns the connection: the queue is held and
   * inbound messages come here. False once it ended or failed.
   */
  get running(): boolean {
    return !this.ended && this.failure === undefined;
  }

  /** Messages waiting for a later receive. */
  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * `link.receive(match?)`: the oldest message not yet taken that passes
   * `match` (any message without one), waiting for it if none has arrived.
   * Rejects when the signal aborts, the buffer overflows, `match` throws, or
   * (ERR_CLOSED) the handshake has ended.
   */
  receive(match?: (m: M) => boolean): Promise<M> {
    return quiet(this.take(match));
  }

  /**
   * An inbound message during the handshake. Returns false once the inbox has
   * ended (the caller treats the message as an ordinary one); true when it was
   * taken (by a waiting receive, the buffer, or dropped because the handshake
   * failed). Throws ERR_PROTOCOL when more than `maxBuffered` would wait: the
   * caller closes the connection with it.
   */
  push(message: M): boolean {
    if (this.ended) return false;
    if (this.failure) return true;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i] as Waiter<M>;
      let ok: boolean;
      try {
        ok = w.match === undefined || w.match(message);
      } catch (err) {
        // The user's match is broken: that receive fails, the others still wait.
        this.waiters.splice(i--, 1);
        w.reject(err);
        continue;
      }
      if (ok) {
        this.waiters.splice(i, 1);
        w.resolve(message);
        return true;
      }
    }
    if (this.buffer.length >= this.maxBuffered) {
      const err = sdkError(
        'ERR_PROTOCOL',
        `more than ${this.maxBuffered} messages arrived during the handshake that no link.receive() took`,
      );
      this.fail(err);
      throw err;
    }
    this.buffer.push(message);
    return true;
  }

  /**
   * The handshake resolved (or rejected on its own): nothing more is taken.
   * Receives still waiting reject with ERR_CLOSED. Returns the messages left
   * in the buffer, in arrival order; they are never emitted.
   */
  end(): M[] {
    if (this.ended) return [];
    this.ended = true;
    this.signal.removeEventListener('abort', this.onAbort);
    const left = this.buffer;
    this.buffer = [];
    this.rejectWaiters(sdkError('ERR_CLOSED', 'the handshake ended while link.receive() was waiting'));
    return left;
  }

  private take(match: ((m: M) => boolean) | undefined): Promise<M> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(sdkError('ERR_CLOSED', 'link.receive() called after the handshake ended'));
    for (let i = 0; i < this.buffer.length; i++) {
      const m = this.buffer[i] as M;
      let ok: boolean;
      try {
        ok = match === undefined || match(m);
      } catch (err) {
        return Promise.reject(err);
      }
      if (ok) {
        this.buffer.splice(i, 1);
        return Promise.resolve(m);
      }
    }
    return new Promise<M>((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  private fail(err: ResilientError): void {
    if (this.failure || this.ended) return;
    this.failure = err;
    this.signal.removeEventListener('abort', this.onAbort);
    this.buffer = [];
    this.rejectWaiters(err);
  }

  private rejectWaiters(err: unknown): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(err);
  }
}
