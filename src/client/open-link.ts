/**
 * Builds the link for one connection attempt from the client's options: the
 * native protocol's (with the HELLO that resumes the session) or a user
 * codec's. The lifecycle (lifecycle.ts) owns what it returns.
 */
import type { Socket } from 'node:net';
import type { ConfirmLedger } from '../core/confirm';
import type { PingLedger } from '../core/pong';
import type { ErrorKind } from '../core/errors';
import type { Endpoint } from '../io/socket';
import { CodecLink, type CodecLinkConfig } from '../io/codec-link';
import type { Link, LinkHooks } from '../io/link';
import { NativeLink, type NativeLinkConfig, type NativeSession } from '../io/native-link';
import type { UserTimeoutSetter } from '../io/user-timeout';
import type { ResolvedOptions } from './options';

/** What the attempt needs besides the options. */
export interface Attempt {
  endpoint: Endpoint;
  classify: (err: unknown) => ErrorKind;
  userTimeout: UserTimeoutSetter | undefined;
  /** The session to resume, if any. */
  sessionId: string | undefined;
  /** The client's pings (seqs continue across connections) and, with confirmed delivery, its confirm ledger. */
  pings: PingLedger;
  confirm: ConfirmLedger<number> | undefined;
}

/**
 * Builds the link. Its config is one literal of one fixed shape for both
 * kinds of link, with no spreads: spreads built a map (V8 hidden class) of
 * its own for every link's config, about 450 B each (bench/heap-per-client.ts).
 */
export function openLink<M>(o: ResolvedOptions<M>, a: Attempt, hooks: LinkHooks<M> & NativeSession): Link<M> {
  const setUserTimeout = a.userTimeout;
  const userTimeoutMs = o.userTimeoutMs;
  const config: NativeLinkConfig & Omit<CodecLinkConfig<M>, 'codec'> & { codec: CodecLinkConfig<M>['codec'] | undefined } = {
    endpoint: a.endpoint,
    tls: o.tls,
    lookup: o.lookup,
    connectTimeoutMs: o.connectTimeoutMs,
    frameTimeoutMs: o.frameTimeoutMs,
    keepAliveMs: o.keepAliveMs,
    networkCheckMs: o.networkCheckMs,
    onSocketReady: setUserTimeout && userTimeoutMs !== undefined ? (socket: Socket) => setUserTimeout(socket, userTimeoutMs) : undefined,
    unref: o.unref,
    holdOpen: o.handshake !== undefined,
    classify: a.classify,
    pings: a.pings,
    wheel: undefined,
    heartbeat: o.heartbeat,
    maxFrameBytes: o.maxFrameBytes,
    clientId: o.clientId,
    token: o.token,
    sessionId: a.sessionId,
    codec: o.codec,
    confirm: a.confirm,
  };
  if (config.codec) return new CodecLink<M>(config as CodecLinkConfig<M>, hooks);
  // Without a codec, messages are Buffers (M defaults to Buffer; Sendable<M> in client.ts): the one cast between the two.
  return new NativeLink(config, hooks as unknown as LinkHooks<Buffer> & NativeSession) as unknown as Link<M>;
}
