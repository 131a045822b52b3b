/**
 * Opening sockets: plain TCP or TLS, no Nagle delay (heartbeats and acks are
 * small and latency-bound), keepalive as a second line of defence.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { noop } from '../core/noop';

/** One server address. */
export interface Endpoint {
  host: string;
  port: number;
}

export interface OpenOptions {
  endpoint: Endpoint;
  tls: tls.ConnectionOptions | undefined;
  /** Host name resolution for this attempt (net.connect's `lookup`); dns.lookup when undefined. */
  lookup?: net.LookupFunction | undefined;
}

export interface OpenedSocket {
  socket: net.Socket;
  /** The event that says the socket is ready for the protocol. */
  readyEvent: 'connect' | 'secureConnect';
}

/** Starts a connection; the caller listens for `readyEvent`, 'error' and 'close'. */
export function openSocket(opts: OpenOptions): OpenedSocket {
  const { host, port } = opts.endpoint;
  // Every attempt resolves the host name again (net.connect does, per call):
  // a server that moved to a new address is followed on the next attempt.
  const lookup = opts.lookup ? { lookup: opts.lookup } : {};
  if (opts.tls) {
    const servername = opts.tls.servername ?? (net.isIP(host) ? undefined : host);
    const socket = tls.connect({ ...opts.tls, host, port, ...lookup, ...(servername ? { servername } : {}) });
    return { socket, readyEvent: 'secureConnect' };
  }
  return { socket: net.connect({ host, port, ...lookup }), readyEvent: 'connect' };
}

/**
 * Node 20 sets only the keepalive initial delay; libuv fixes the probe
 * interval at 1 s and the count at 10, so an idle dead link is seen after
 * initialDelay + 10 s (libuv's uv__tcp_keepalive sets TCP_KEEPINTVL 1 and
 * TCP_KEEPCNT 10 on Linux).
 */
export function configureSocket(socket: net.Socket, keepAliveMs: number | false): void {
  socket.setNoDelay(true);
  if (keepAliveMs !== false) socket.setKeepAlive(true, keepAliveMs);
}

/**
 * The socket's local address, read without keeping Node's copy: `localAddress`
 * calls getsockname once and caches the answer on the socket (`_sockname`, an
 * object and its address string, 88 B per connection by
 * bench/heap-per-client.ts) for the socket's life. The field is Node's own
 * (lib/net.js `_getsockname`, initialised to null in the constructor); setting it
 * back to null keeps the socket's shape, and a later read asks the kernel again.
 */
export function localAddressOnce(socket: net.Socket): string | undefined {
  const address = socket.localAddress;
  const s = socket as net.Socket & { _sockname?: unknown };
  if (s._sockname !== undefined) s._sockname = null;
  return address;
}

/**
 * Closes a socket whose peer is presumed dead with RST (SO_LINGER 0) instead
 * of FIN: a FIN sent into a dead link leaves the kernel retransmitting it in
 * FIN-WAIT-1 for ~100 s (tcp_orphan_retries), a zombie per flap; RST frees the
 * socket at once. Falls back to destroy() where RST is not possible (TLS
 * wraps the TCP handle, or the handle is already gone).
 */
export function resetSocket(socket: net.Socket): void {
  // While connecting, resetAndDestroy() would wait for the connect to finish
  // (up to the kernel's SYN timeout): there is no connection to reset yet.
  // After end(), a pending shutdown makes it fail with an 'error' (EINVAL)
  // and no 'close': destroy() is the only safe way then.
  if (socket.connecting || socket.destroyed || socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** The listeners a connection keeps on its socket, each a named function so it can be removed. */
export interface SocketHandlers {
  data(chunk: Buffer): void;
  error(err: Error): void;
  end(): void;
  close(): void;
  drain(): void;
}

const EVENTS = ['data', 'error', 'end', 'close', 'drain'] as const;

/** What owns a socket whose listeners are shared (ownerHandlers): one method per event. */
export interface SocketOwner {
  onSocketData(chunk: Buffer): void;
  onSocketError(err: Error): void;
  onSocketEnd(): void;
  onSocketClose(): void;
  onSocketDrain(): void;
}

/**
 * One set of listeners for every socket whose owner is stored on it under
 * `key`: each finds its owner on the socket it is called on (`this`), so a
 * connection costs no closures (the client's links, io/link.ts; the server's,
 * server/server-link.ts).
 */
export function ownerHandlers(key: symbol): SocketHandlers {
  type Owned = net.Socket & Partial<Record<symbol, SocketOwner>>;
  return {
    data(this: Owned, chunk: Buffer) {
      this[key]?.onSocketData(chunk);
    },
    error(this: Owned, err: Error) {
      this[key]?.onSocketError(err);
    },
    end(this: Owned) {
      this[key]?.onSocketEnd();
    },
    close(this: Owned) {
      this[key]?.onSocketClose();
    },
    drain(this: Owned) {
      this[key]?.onSocketDrain();
    },
  };
}

/** Attaches the handlers (once per socket). */
export function attach(socket: net.Socket, h: SocketHandlers): void {
  for (const e of EVENTS) socket.on(e, h[e]);
}

/**
 * Removes Node's own 'end' listener (lib/net.js `onReadableStreamEnd`, which
 * only turns later writes into errors once the peer's FIN is in) from a socket
 * whose owner tears it down on 'end' itself: with ours beside it the socket
 * would keep its 'end' listeners in an array (64 B per connection,
 * bench/heap-per-client.ts). Call after attach(), so the array collapses back to
 * our one function. Nothing is removed if that listener is not there.
 */
export function dropStreamEndListener(socket: net.Socket): void {
  for (const l of socket.listeners('end')) {
    if (l.name === 'onReadableStreamEnd') socket.off('end', l as () => void);
  }
}

/** Removes the handlers, keeping a no-op 'error' listener: a late error on a destroyed socket must not crash the process. */
export function detach(socket: net.Socket, h: SocketHandlers): void {
  for (const e of EVENTS) socket.off(e, h[e]);
  socket.on('error', noop);
}

