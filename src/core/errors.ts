/**
 * Errors the SDK surfaces, and the classification of any error (object, errno
 * name or number) into the kind that decides what the reconnect policy does.
 *
 * Pure: no I/O. `node:os` and `node:util` are used only for their constant
 * tables (errno names and numbers of the running platform).
 */
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/** What the reconnect policy does with an error. */
export type ErrorKind = 'transient' | 'unavailable' | 'network' | 'fatal';

/** Stable codes of the errors the SDK itself raises. */
export const ErrorCodes = {
  HEARTBEAT_TIMEOUT: 'ERR_HEARTBEAT_TIMEOUT',
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  RETRIES_EXHAUSTED: 'ERR_RETRIES_EXHAUSTED',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  PROTOCOL: 'ERR_PROTOCOL',
  PROTOCOL_VERSION: 'ERR_PROTOCOL_VERSION',
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  AUTH: 'ERR_AUTH',
  CLOSED: 'ERR_CLOSED',
  SERVER_FULL: 'ERR_SERVER_FULL',
  SESSION_TAKEN_OVER: 'ERR_SESSION_TAKEN_OVER',
  HANDSHAKE_TIMEOUT: 'ERR_HANDSHAKE_TIMEOUT',
  FRAME_TIMEOUT: 'ERR_FRAME_TIMEOUT',
  CONNECTION_LOST: 'ERR_CONNECTION_LOST',
  SERVER_BYE: 'ERR_SERVER_BYE',
  ABORTED: 'ERR_ABORTED',
  MESSAGE_EXPIRED: 'ERR_MESSAGE_EXPIRED',
  TLS_CERT: 'ERR_TLS_CERT',
  NETWORK_CHANGED: 'ERR_NETWORK_CHANGED',
  SLOW_CONSUMER: 'ERR_SLOW_CONSUMER',
  UNKNOWN: 'ERR_UNKNOWN',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The one error class the SDK surfaces. `code` is stable (an errno name such as
 * `ECONNREFUSED` for errors from the OS, an `ERR_*` code for the SDK's own);
 * `kind` says how the reconnect policy treats it; `cause` is the original.
 */
export class ResilientError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;

  constructor(code: string, message: string, kind: ErrorKind, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ResilientError';
    this.code = code;
    this.kind = kind;
  }

  /** Wraps any thrown value; a ResilientError is returned as is. */
  static from(err: unknown, classify: (e: unknown) => ErrorKind = classifyError): ResilientError {
    if (err instanceof ResilientError) return err;
    const code = errorCodeOf(err) ?? 'ERR_UNKNOWN';
    const message = err instanceof Error ? err.message : String(err);
    if (TLS_FATAL.has(code)) {
      // One stable code for "the peer's certificate is not trusted"; the OpenSSL reason stays in the message.
      return new ResilientError('ERR_TLS_CERT', `TLS certificate rejected (${code}): ${message}`, classify(err), err);
    }
    return new ResilientError(code, message, classify(err), err);
  }
}

/** What an SDK code means: how the reconnect policy treats it, and whether it ends the socket with RST. */
export interface CodeRule {
  readonly kind: ErrorKind;
  /**
   * True for our own verdict that the peer is gone or useless (heartbeat,
   * connect or frame timeout): the socket is reset, so no FIN is
   * retransmitted into a dead link (see io/socket.ts resetSocket).
   */
  readonly reset: boolean;
  /** The first retry after this error goes at once, whatever its kind (as `transient` errors' does). */
  readonly retryAtOnce?: true;
}

const rule = (kind: ErrorKind, reset = false): CodeRule => Object.freeze({ kind, reset });

/** Every SDK code, once: a code missing here is a type error. */
export const CODE_RULES: Readonly<Record<ErrorCode, CodeRule>> = Object.freeze({
  ERR_HEARTBEAT_TIMEOUT: rule('transient', true),
  ERR_CONNECTION_LOST: rule('transient'),
  // A server that says goodbye is going away (shutdown, restart): retrying at
  // once would make every client arrive together when it comes back, so the
  // first retry is jittered like any other.
  ERR_SERVER_BYE: rule('unavailable'),
  ERR_CONNECT_TIMEOUT: rule('unavailable', true),
  ERR_HANDSHAKE_TIMEOUT: rule('unavailable'),
  ERR_FRAME_TIMEOUT: rule('unavailable', true),
  // Server: a client that does not read what it is sent for slowConsumerMs;
  // reset, since a goodbye would queue behind the output it does not read.
  ERR_SLOW_CONSUMER: rule('unavailable', true),
  ERR_SERVER_FULL: rule('unavailable'),
  // A peer speaking garbage may be a restarting proxy or the wrong service:
  // back off and retry within maxRetries rather than give up at once.
  ERR_PROTOCOL: rule('unavailable'),
  ERR_FRAME_TOO_LARGE: rule('unavailable'),
  ERR_PROTOCOL_VERSION: rule('fatal'),
  ERR_AUTH: rule('fatal'),
  ERR_SESSION_TAKEN_OVER: rule('fatal'),
  ERR_RETRIES_EXHAUSTED: rule('fatal'),
  ERR_CLOSED: rule('fatal'),
  ERR_ABORTED: rule('fatal'),
  ERR_QUEUE_FULL: rule('fatal'),
  ERR_MESSAGE_EXPIRED: rule('fatal'),
  ERR_TLS_CERT: rule('fatal'),
  // The socket's local address left every interface (io/network-watch.ts): the
  // link is dead but the network may already be back on another address, so
  // the first retry goes at once. RST: nothing can reach the peer from here.
  ERR_NETWORK_CHANGED: Object.freeze({ kind: 'network', reset: true, retryAtOnce: true }),
  // A thrown value with no code of its own: nothing says it is final, so it is retried with backoff.
  ERR_UNKNOWN: rule('unavailable'),
});

/** Node's own argument errors: a bug or a bad option, never fixed by retrying. */
const NODE_CODE_KINDS: Readonly<Record<string, ErrorKind>> = Object.freeze({
  ERR_INVALID_ARG_TYPE: 'fatal',
  ERR_INVALID_ARG_VALUE: 'fatal',
  ERR_SOCKET_BAD_PORT: 'fatal',
});

function isSdkCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(CODE_RULES, code);
}

/** True when an error with this code ends its socket with RST (our own verdict on the peer). */
export function resetsSocket(code: string): boolean {
  return isSdkCode(code) && CODE_RULES[code].reset;
}

/** True when the first retry after an error with this code goes at once (CodeRule.retryAtOnce). */
export function retriesAtOnce(code: string): boolean {
  return isSdkCode(code) && CODE_RULES[code].retryAtOnce === true;
}

/**
 * The default errno table (documented in docs/errors.md). Exported so users can read it; pass
 * `classifyError` in the client options to override entries.
 */
export const ERRNO_KINDS: Readonly<Record<string, ErrorKind>> = Object.freeze({
  ECONNRESET: 'transient',
  ECONNABORTED: 'transient',
  EPIPE: 'transient',
  ECONNREFUSED: 'unavailable',
  ETIMEDOUT: 'unavailable',
  EHOSTUNREACH: 'network',
  ENETDOWN: 'network',
  ENETUNREACH: 'network',
  EHOSTDOWN: 'network',
  EAI_AGAIN: 'network',
  ENOTFOUND: 'network',
  // Node reports a failed lookup as ENOTFOUND with errno -3008, libuv's UV_EAI_NONAME.
  EAI_NONAME: 'network',
  EADDRNOTAVAIL: 'network',
  EACCES: 'fatal',
  EPERM: 'fatal',
});

/** Winsock numbers (WSAE*) mapped to the errno names Node reports. */
export const WINSOCK_ERRNO: Readonly<Record<number, string>> = Object.freeze({
  10013: 'EACCES',
  10049: 'EADDRNOTAVAIL',
  10050: 'ENETDOWN',
  10051: 'ENETUNREACH',
  10053: 'ECONNABORTED',
  10054: 'ECONNRESET',
  10060: 'ETIMEDOUT',
  10061: 'ECONNREFUSED',
  10064: 'EHOSTDOWN',
  10065: 'EHOSTUNREACH',
});

/**
 * Linux POSIX errno numbers for the names in the table. Used when the running
 * platform's own table (os.constants.errno) lacks a number, so a number
 * recorded on Linux classifies the same everywhere.
 */
const LINUX_ERRNO: Readonly<Record<number, string>> = Object.freeze({
  1: 'EPERM',
  13: 'EACCES',
  32: 'EPIPE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  112: 'EHOSTDOWN',
  113: 'EHOSTUNREACH',
});

const PLATFORM_ERRNO: ReadonlyMap<number, string> = new Map(
  Object.entries(osConstants.errno).map(([name, num]) => [num, name]),
);

/** TLS verification failures: the peer is not who it claims, so never retry. */
const TLS_FATAL = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The errno name for a number: Node's negative errno (libuv), a POSIX errno of
 * this platform or Linux, or a Winsock WSAE* number. Undefined when unknown.
 */
export function errnoName(num: number): string | undefined {
  if (!Number.isInteger(num)) return undefined;
  if (num < 0) {
    const own = PLATFORM_ERRNO.get(-num) ?? LINUX_ERRNO[-num];
    if (own) return own;
    try {
      const name = getSystemErrorName(num);
      return name.startsWith('Unknown') ? undefined : name;
    } catch {
      return undefined;
    }
  }
  return WINSOCK_ERRNO[num] ?? PLATFORM_ERRNO.get(num) ?? LINUX_ERRNO[num];
}

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err === 'string') return err;
  if (typeof err === 'number') return errnoName(err);
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.code === 'number') return errnoName(e.code);
  if (typeof e.errno === 'number') return errnoName(e.errno);
  return undefined;
}

/**
 * The kind of any error: a ResilientError's own kind; otherwise by its code
 * (errno name, Winsock or errno number, SDK code). Unknown errors are
 * `unavailable` (retried with backoff, never in a tight loop).
 */
export function classifyError(err: unknown): ErrorKind {
  if (err instanceof ResilientError) return err.kind;
  if (typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError') {
    return 'fatal';
  }
  const code = errorCodeOf(err);
  if (code === undefined) return 'unavailable';
  const known = ERRNO_KINDS[code] ?? (isSdkCode(code) ? CODE_RULES[code].kind : NODE_CODE_KINDS[code]);
  if (known) return known;
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'unavailable';
  // Certificate failures, and TLS/SSL misconfiguration (wrong version, no shared cipher): retrying cannot help.
  if (TLS_FATAL.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'fatal';
  return 'unavailable';
}

/** An SDK error with the kind its code implies. */
export function sdkError(code: ErrorCode, message: string, cause?: unknown): ResilientError {
  return new ResilientError(code, message, CODE_RULES[code].kind, cause);
}
