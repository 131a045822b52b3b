/**
 * Builds the link for one connection attempt from the client's options: the
 * native protocol's (with the HELLO that resumes the session) or a user
 * codec's. The lifecycle (lifecycle.ts) owns what it returns.
 */
import type { Link, LinkHooks } from '../io/link';
import { CodecLink, type CodecOwner } from '../io/codec-link';
import { NativeLink, type NativeSession } from '../io/native-link';
import type { Endpoint } from '../io/socket';
import type { ResolvedOptions } from './options';

/**
 * Builds the link for one attempt to `endpoint`. The link reads the client's
 * resolved options as they are, from `owner.opts` (no config object per link:
 * a copy cost about 180 B per client, and a field for them 8 B,
 * bench/heap-per-client.ts) and the rest, the client and session ids
 * included, from `owner`.
 */
export function openLink<M>(endpoint: Endpoint, owner: LinkHooks<M> & NativeSession & CodecOwner & { readonly opts: ResolvedOptions<M> }): Link<M> {
  if (owner.opts.codec) return new CodecLink<M>(endpoint, owner);
  // Without a codec, messages are Buffers (M defaults to Buffer; Sendable<M> in client.ts): the one cast between the two.
  return new NativeLink(endpoint, owner as unknown as LinkHooks<Buffer> & NativeSession) as unknown as Link<M>;
}
