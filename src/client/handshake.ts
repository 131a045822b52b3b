/**
 * The per-connection handshake (`handshake(link)` option): the `link` object
 * it receives, and `HandshakeRun`, which owns one attempt's signal and inbox
 * (core/handshake-inbox.ts) and settles once.
 */
import { HandshakeInbox } from '../core/handshake-inbox';
import { ErrorKind, ResilientError, sdkError } from '../core/errors';

/** `'written'`: send() resolves once the kernel has the bytes; `'confirmed'`: once a pong to a later ping arrived. */
export type Delivery = 'written' | 'confirmed';

/** What `handshake(link)` receives on every connection. */
export interface HandshakeLink<M = Buffer> {
  /** Writes `message` ahead of the queue (native protocol: after resends of earlier connections' messages). Throws ERR_CLOSED once the handshake ended, ERR_QUEUE_FULL on a full native queue. */
  send(message: M): void;
  /** The next inbound message passing `match` (any without it); messages no receive takes are never emitted. */
  receive(match?: (message: M) => boolean): Promise<M>;
  /** 1 on the first connection, rising with each attempt. */
  readonly attempt: number;
  /** Native protocol: the server kept the session. Always false with a codec. */
  readonly resumed: boolean;
  /** Aborted when the connection is lost or connectTimeoutMs passes. */
  readonly signal: AbortSignal;
}

export type HandshakeFn<M = Buffer> = (link: HandshakeLink<M>) => Promise<void> | void;

/** One attempt's handshake: started when the link is up, ended by its result or by the connection's end. */
export class HandshakeRun<M> {
  private readonly controller = new AbortController();
  readonly inbox = new HandshakeInbox<M>(this.controller.signal);

  /** Calls `fn`; `done` runs once on success, `failed` once on a throw or rejection, neither after abort(). */
  constructor(
    fn: HandshakeFn<M>,
    info: { attempt: number; resumed: boolean; send: (m: M) => void },
    classify: (err: unknown) => ErrorKind,
    done: () => void,
    failed: (err: ResilientError) => void,
  ) {
    const link: HandshakeLink<M> = {
      send: (m) => {
        if (!this.inbox.running) throw sdkError('ERR_CLOSED', 'link.send() called after the handshake ended');
        info.send(m);
      },
      receive: (match) => this.inbox.receive(match),
      attempt: info.attempt,
      resumed: info.resumed,
      signal: this.controller.signal,
    };
    // A synchronous throw is a rejection like any other; the result arrives on a later tick.
    Promise.resolve()
      .then(() => fn(link))
      .then(
        () => {
          if (!this.inbox.running) return;
          this.inbox.end();
          done();
        },
        (err: unknown) => {
          if (!this.inbox.running) return;
          this.inbox.end();
          failed(ResilientError.from(err, classify));
        },
      );
  }

  /** True until the handshake settled or was aborted: the queue is held. */
  get running(): boolean {
    return this.inbox.running;
  }

  /** The connection ended (lost, deadline, close): the signal aborts with `err`; the result is ignored. */
  abort(err: ResilientError): void {
    if (!this.controller.signal.aborted) this.controller.abort(err);
    this.inbox.end();
  }
}
