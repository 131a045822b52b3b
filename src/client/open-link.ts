/**
 * Builds the link for one connection attempt from the client's options: the
 * native protocol's (with the HELLO that resumes the session) or a user
 * codec's. The lifecycle (lifecycle.ts) owns what it returns.
 */
import type { Socket } from 'node:net';
import type { ConfirmLedger } from '../core/confirm';
import type { InboundTracker } from '../core/delivery';
import type { PingLedger } from '../core/pong';
import type { ErrorKind } from '../core/errors';
import type { Endpoint } from '../io/socket';
import { CodecLink } from '../io/codec-link';
import type { Link, LinkConfig, LinkHooks } from '../io/link';
import { NativeLink } from '../io/native-link';
import type { UserTimeoutSetter } from '../io/user-timeout';
import { PROTOCOL_VERSION } from '../protocol/frames';
import type { ResolvedOptions } from './options';

/** What the attempt needs besides the options. */
export interface Attempt {
  endpoint: Endpoint;
  classify: (err: unknown) => ErrorKind;
  userTimeout: UserTimeoutSetter | undefined;
  /** The session to resume, if any. */
  sessionId: string | undefined;
  /** The session's inbound tracker, read when the WELCOME is handled. */
  inbound: () => InboundTracker;
  /** The client's pings (seqs continue across connections) and, with confirmed delivery, its confirm ledger. */
  pings: PingLedger;
  confirm: ConfirmLedger<number> | undefined;
}

/** The links' clock: one function for every link, not a closure each. */
const now = (): number => performance.now();

export function openLink<M>(o: ResolvedOptions<M>, a: Attempt, hooks: LinkHooks<M>): Link<M> {
  const setUserTimeout = a.userTimeout;
  const userTimeoutMs = o.userTimeoutMs;
  const base: LinkConfig = {
    endpoint: a.endpoint,
    tls: o.tls,
    lookup: o.lookup,
    connectTimeoutMs: o.connectTimeoutMs,
    frameTimeoutMs: o.frameTimeoutMs,
    keepAliveMs: o.keepAliveMs,
    networkCheckMs: o.networkCheckMs,
    unref: o.unref,
    holdOpen: o.handshake !== undefined,
    classify: a.classify,
    pings: a.pings,
    ...(setUserTimeout && userTimeoutMs !== undefined ? { onSocketReady: (socket: Socket) => setUserTimeout(socket, userTimeoutMs) } : {}),
  };
  if (o.codec) return new CodecLink<M>({ ...base, codec: o.codec, heartbeat: o.heartbeat, confirm: a.confirm }, hooks);
  const hb = o.heartbeat;
  const inbound = a.inbound;
  const native = new NativeLink(
    {
      ...base,
      heartbeat: hb,
      maxFrameBytes: o.maxFrameBytes,
      inbound,
      hello: {
        v: PROTOCOL_VERSION,
        clientId: o.clientId,
        heartbeatMs: hb ? Math.round(hb.intervalMs) : 0,
        maxFrameBytes: o.maxFrameBytes,
        ...(a.sessionId ? { sessionId: a.sessionId, lastSeen: inbound().lastDelivered } : {}),
        ...(o.token !== undefined ? { token: o.token } : {}),
      },
    },
    // Without a codec, messages are Buffers (M defaults to Buffer; Sendable<M> in client.ts): the one cast between the two.
    hooks as unknown as LinkHooks<Buffer>,
  );
  return native as unknown as Link<M>;
}
