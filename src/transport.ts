/**
 * Opening sockets: plain TCP or TLS, no Nagle delay (heartbeats and acks are
 * small and latency-bound), keepalive as a second line of defence.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Endpoint } from './options';

export interface OpenOptions {
  endpoint: Endpoint;
  tls: tls.ConnectionOptions | undefined;
}

export interface OpenedSocket {
  socket: net.Socket;
  /** The event that says the socket is ready for the protocol. */
  readyEvent: 'connect' | 'secureConnect';
}

/** Starts a connection; the caller listens for `readyEvent`, 'error' and 'close'. */
export function openSocket(opts: OpenOptions): OpenedSocket {
  const { host, port } = opts.endpoint;
  if (opts.tls) {
    const servername = opts.tls.servername ?? (net.isIP(host) ? undefined : host);
    const socket = tls.connect({ ...opts.tls, host, port, ...(servername ? { servername } : {}) });
    return { socket, readyEvent: 'secureConnect' };
  }
  return { socket: net.connect({ host, port }), readyEvent: 'connect' };
}

/**
 * Node 20 sets only the keepalive initial delay; libuv fixes the probe
 * interval at 1 s and the count at 10, so an idle dead link is seen after
 * initialDelay + 10 s (DESIGN.md toolchain facts).
 */
export function configureSocket(socket: net.Socket, keepAliveMs: number | false): void {
  socket.setNoDelay(true);
  if (keepAliveMs !== false) socket.setKeepAlive(true, keepAliveMs);
}
