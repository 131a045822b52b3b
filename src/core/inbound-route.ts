/**
 * Where one decoded inbound message goes on a codec connection, in this
 * order:
 *
 * 1. `heartbeat.answer(m)` returned a reply: the server pinged us; the reply
 *    is written at once and the message is not emitted. Active from the
 *    first byte, handshake included.
 * 2. `heartbeat.isPong(m)` says it answers one of our pings (or is a bare
 *    pong): a heartbeat event, not emitted. A numbered pong that answers
 *    none of our pings goes on, as a message (see src/core/pong.ts).
 * 3. While a handshake runs, the handshake takes it (`link.receive`, or its
 *    buffer); it is never emitted.
 * 4. Otherwise it is a message for the app.
 *
 * Pure: the hooks are the user's functions; whatever they throw propagates
 * (the caller closes the connection with it, like a codec error), and so does
 * the handshake buffer's ERR_PROTOCOL.
 */
import type { HandshakeInbox } from './handshake-inbox';
import { PingLedger, PingMatch, routePong } from './pong';

/** The heartbeat hooks that look at inbound messages. */
export interface InboundHooks<M> {
  /** The reply to a server's own ping, or undefined (or null) for any other message. */
  answer?: (message: M) => M | undefined | null;
  /** false/undefined: not a pong; true: a pong; a number: the seq it answers. */
  isPong?: (message: M) => unknown;
}

/** What to do with the message: write `reply`, count a pong, nothing (the handshake has it), or emit it. */
export type InboundRoute<M> =
  | { readonly kind: 'answer'; readonly reply: M }
  | { readonly kind: 'pong'; readonly match: PingMatch | undefined }
  | { readonly kind: 'handshake' }
  | { readonly kind: 'message' };

const HANDSHAKE: InboundRoute<never> = Object.freeze({ kind: 'handshake' });
const MESSAGE: InboundRoute<never> = Object.freeze({ kind: 'message' });

/**
 * Routes `message` (see the order above). `inbox` is the running handshake's,
 * or undefined when no handshake runs; `now` times a matched pong.
 */
export function routeInbound<M>(
  message: M,
  hooks: InboundHooks<M>,
  pings: PingLedger,
  inbox: HandshakeInbox<M> | undefined,
  now: number,
): InboundRoute<M> {
  if (hooks.answer) {
    const reply = hooks.answer(message);
    if (reply !== undefined && reply !== null) return { kind: 'answer', reply };
  }
  if (hooks.isPong) {
    const pong = routePong(pings, hooks.isPong(message), now);
    if (pong.kind === 'pong') return pong;
  }
  if (inbox !== undefined && inbox.push(message)) return HANDSHAKE;
  return MESSAGE;
}
