/**
 * The per-test frame every integration suite uses: things to close, closed
 * in reverse order after each test, then the leak check.
 */
import * as net from 'node:net';
import { HeartbeatServer, type ServerOptions } from '../../src/server';
import { RawClient } from './raw-client';
import { expectResourcesBackTo, resourceSnapshot } from './resources';

export type Cleanup = Array<() => Promise<unknown> | unknown>;

/** Registers beforeEach/afterEach in the calling describe block; push closers onto the returned list. */
export function useCleanup(): Cleanup {
  let before: string[] = [];
  const cleanup: Cleanup = [];
  beforeEach(() => {
    before = resourceSnapshot();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await expectResourcesBackTo(before);
  });
  return cleanup;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A HeartbeatServer per test plus raw sockets to it, all closed after each
 * test and followed by the leak check. Read `server` and `port` inside tests.
 */
export function useServerWithRawClients(options: ServerOptions): { readonly server: HeartbeatServer; readonly port: number; raw(): Promise<RawClient> } {
  let before: string[] = [];
  let server: HeartbeatServer | undefined;
  let port = 0;
  const raws: RawClient[] = [];
  beforeEach(async () => {
    before = resourceSnapshot();
    server = new HeartbeatServer({ host: '127.0.0.1', ...options });
    port = (await server.listen()).port;
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await server?.close();
    await expectResourcesBackTo(before);
  });
  return {
    get server() {
      return server as HeartbeatServer;
    },
    get port() {
      return port;
    },
    async raw() {
      const r = await RawClient.connect(port);
      raws.push(r);
      return r;
    },
  };
}
