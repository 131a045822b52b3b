/**
 * The close stages, the entry effects of `closing` and `closed`
 * (core/state.ts): drain (acks awaited up to closeTimeoutMs, then BYE),
 * release (the link torn down, `closed` once its socket is released), and
 * finish (what is left rejects with ERR_CLOSED). The lifecycle
 * (client/lifecycle.ts) runs them on entering each stage and passes itself.
 */
import type { EventEmitter } from 'eventemitter3';
import type { OutboundWindow } from '../core/delivery';
import { type ResilientError, sdkError } from '../core/errors';
import type { MachineEvent } from '../core/state';
import { channels, publish } from '../io/diagnostics';
import type { Link } from '../io/link';
import type { ResolvedOptions } from './options';
import type { LifecycleTimers } from './timers';
import type { ClientEvents } from './types';
import type { UserHandshake } from './user-handshake';

/** What the close stages act on: the lifecycle's link, timers, window and promises. */
export interface CloseHost<M> {
  readonly opts: Pick<ResolvedOptions<M>, 'closeTimeoutMs'>;
  readonly events: EventEmitter<ClientEvents<M>>;
  readonly timers: LifecycleTimers;
  readonly outbound: OutboundWindow;
  readonly handshake: UserHandshake<M> | undefined;
  /** The current link, and the one that ended last (closing waits for its socket to be released). */
  link: Link<M> | undefined;
  readonly lastLink: Link<M> | undefined;
  abandoned: Buffer[];
  /** The connect() callers waiting, taken (none are left waiting). */
  takeWaiters(): ReadonlyArray<{ reject(e: ResilientError): void }>;
  onClosed(): void;
  dispatch(event: MachineEvent): void;
  pump(): void;
}

/** closing (draining): wait up to closeTimeoutMs for acks, then BYE; the link going down releases. */
export function drain<M>(h: CloseHost<M>): void {
  h.timers.clear('retry');
  const c = h.link;
  if (!c || !c.isOpen) return h.dispatch({ type: 'drainTimeout' });
  if (h.outbound.size === 0) c.end('client closing');
  else h.pump();
  h.timers.set('close', h.opts.closeTimeoutMs, () => h.dispatch({ type: 'drainTimeout' }));
}

/** closing (releasing): ends whatever is left of the link; closed follows once its socket is released. */
export function release<M>(h: CloseHost<M>): void {
  h.timers.clearAll();
  h.handshake?.end(sdkError('ERR_CLOSED', 'client closed during the handshake'));
  const c = h.link ?? h.lastLink;
  if (h.link?.isOpen) emitClose(h.events, h.link, undefined, false);
  h.link = undefined;
  c?.destroy();
  // closed only once the socket handle is released: close() leaves nothing behind.
  if (c) void c.closed.then(() => h.dispatch({ type: 'closed' }));
  else h.dispatch({ type: 'closed' });
}

/** closed: everything still pending rejects with ERR_CLOSED (`destroyReason` its cause); the client's close promise resolves. */
export function finishClose<M>(h: CloseHost<M>, destroyReason: Error | undefined): void {
  h.timers.clearAll();
  h.handshake?.end(sdkError('ERR_CLOSED', 'client closed'));
  h.link?.destroy();
  h.link = undefined;
  const left = h.outbound.rejectAll(sdkError('ERR_CLOSED', 'client closed before the message was acknowledged', destroyReason));
  if (left.length > 0) h.abandoned = left;
  const closed = sdkError('ERR_CLOSED', 'client closed');
  for (const waiter of h.takeWaiters()) waiter.reject(closed);
  h.onClosed();
}

/** `close` for a connection that was open, on the event and the diagnostics channel. */
export function emitClose<M>(events: EventEmitter<ClientEvents<M>>, c: Link<M> | undefined, error: ResilientError | undefined, willReconnect: boolean): void {
  events.emit('close', error ? { error, willReconnect } : { willReconnect });
  publish(channels.clientClose, () => ({ client: events, remote: c?.remote, ...(error ? { code: error.code } : {}), willReconnect }));
}
