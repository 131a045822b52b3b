/**
 * The lifecycle's side of the user's handshake (`handshake(link)` option):
 * starts one `HandshakeRun` (client/handshake.ts) per held link, writes its
 * `link.send` messages (a codec's at once; the native protocol's ahead of the
 * queue), offers it inbound messages, and ends it with the connection.
 * client/lifecycle.ts owns it and decides when each happens.
 */
import type { OutboundWindow } from '../core/delivery';
import type { ErrorKind, ResilientError } from '../core/errors';
import type { CodecLink } from '../io/codec-link';
import type { Link } from '../io/link';
import { HandshakeRun } from './handshake';
import type { ResolvedOptions } from './options';
import { noop } from '../core/noop';

/** A handshake message's settlement: its result is the handshake's, not a caller's. */

/** What the handshake's messages go through besides the options. */
export interface HandshakeWiring<M> {
  readonly outbound: OutboundWindow;
  classify(err: unknown): ErrorKind;
  /** Writes what the window may write now. */
  readonly pump: () => void;
}

/** Until the client sets encodeAhead (a codec's handshake writes its messages itself). */
const encodeNothing = (): Buffer => Buffer.alloc(0);

export class UserHandshake<M> {
  /** Set by the client, native protocol: encodes a handshake message and checks the frame limit (throws like send() rejects). */
  encodeAhead: (message: M) => Buffer = encodeNothing;
  /** The running user handshake of the current link, if any. */
  private run: HandshakeRun<M> | undefined;

  constructor(
    private readonly opts: ResolvedOptions<M>,
    private readonly wiring: HandshakeWiring<M>,
  ) {}

  /**
   * Starts the user's handshake on `link` if there is one and the link is held:
   * `done` runs once it resolved (after `link.release()`), a rejection fails the link.
   * False when there is nothing to run: the link is established at once.
   */
  start(link: Link<M> | undefined, info: { attempt: number; resumed: boolean }, done: () => void): boolean {
    const fn = this.opts.handshake;
    if (!fn || !link?.held) return false;
    const send = this.opts.codec ? (m: M) => (link as CodecLink<M>).sendNow(m) : (m: M) => this.sendAhead(m);
    const settled = (): void => {
      this.run = undefined;
      link.release();
      done();
    };
    this.run = new HandshakeRun(fn, { ...info, send }, (e) => this.wiring.classify(e), settled, (err) => link.fail(err));
    this.wiring.pump();
    return true;
  }

  /** True when the running handshake took `message` (it owns the connection: what it does not take is never emitted; ERR_PROTOCOL past its bound). */
  take(message: M): boolean {
    return this.run?.inbox.push(message) ?? false;
  }

  /** The connection ended (lost, closed): the handshake's signal aborts with `err`. */
  end(err: ResilientError): void {
    this.run?.abort(err);
    this.run = undefined;
    // Handshake messages never written go with their connection (even when the
    // handshake resolved while the socket was blocked): the next connection's handshake sends its own.
    // Only a native-protocol handshake puts any in the window: no scan of the queue otherwise.
    if (this.opts.handshake && !this.opts.codec) this.wiring.outbound.withdrawAhead(err);
  }

  /** Native protocol: a handshake message goes ahead of everything never written, in id order (OutboundWindow.enqueueAhead). */
  private sendAhead(message: M): void {
    const r = this.wiring.outbound.enqueueAhead(this.encodeAhead(message), noop, noop);
    if (r.refused) throw r.refused;
    this.wiring.pump();
  }
}
