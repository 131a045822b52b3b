/**
 * The credentials a session is bound to. A session is resumed only by a HELLO
 * with the clientId and the token it was created with (issue 9 item 4): a
 * session id read from a log is not enough to take the session over, as long
 * as clients hold tokens of their own. Only a SHA-256 digest of the token is
 * kept, and digests are compared in constant time (`crypto.timingSafeEqual`
 * needs equal lengths, which digests have).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** A SHA-256 digest, its 32 bytes as a latin1 string. */
export type TokenDigest = string & { readonly __tokenDigest: true };

function sha256(token: string): TokenDigest {
  return createHash('sha256').update(token, 'utf8').digest('binary') as TokenDigest;
}

/** The digest of '': one string for every session created without a token. */
const NO_TOKEN = sha256('');

/** SHA-256 of a HELLO's token; a HELLO without a token has the digest of ''. */
export function tokenDigest(token: string | undefined): TokenDigest {
  return token ? sha256(token) : NO_TOKEN;
}

/** True when two digests from tokenDigest() are equal; constant time (run on a resume only). */
export function sameDigest(a: TokenDigest, b: TokenDigest): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}
