/**
 * What the client asks of the kernel and of name resolution, read back from
 * the outside: TCP keepalive as the kernel's own socket table shows it (`ss`),
 * and a host name resolved afresh on every connection attempt.
 */
import { execFile } from 'node:child_process';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { promisify } from 'node:util';
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { waitFor } from '../support/events';
import { freePort, useCleanup } from '../support/lifecycle';

const run = promisify(execFile);

/** The kernel's timer column for the client's socket to `port` on 127.0.0.1 ('' when the socket has no timer). */
async function clientSocketTimer(port: number): Promise<string> {
  const { stdout } = await run('ss', ['-tnoH', 'state', 'established', `( dport = :${port} )`]);
  const lines = stdout.trim().split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return /timer:\(([^)]*)\)/.exec(lines[0] as string)?.[1] ?? '';
}

describe('socket options, read back', () => {
  const cleanup = useCleanup();

  async function connected(keepAlive: boolean | number): Promise<number> {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, keepAlive });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    return port;
  }

  it('TCP keepalive is on, with the configured initial delay (the kernel runs a keepalive timer of at most that)', async () => {
    const port = await connected(30_000);
    const timer = await clientSocketTimer(port);
    // e.g. "keepalive,29sec,0": the next probe is due within the 30 s initial delay.
    const m = /^keepalive,(\d+(?:\.\d+)?)(ms|sec|min)/.exec(timer);
    expect(m).not.toBeNull();
    const seconds = Number(m?.[1]) / (m?.[2] === 'ms' ? 1000 : m?.[2] === 'min' ? 1 / 60 : 1);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(30);
  });

  it('keepAlive: false leaves the socket without a keepalive timer', async () => {
    const port = await connected(false);
    expect(await clientSocketTimer(port)).not.toMatch(/keepalive/);
  });

  it('resolves the host name again on every attempt, and follows a server that moved to another address', async () => {
    const port = await freePort();
    const first = new HeartbeatServer({ host: '127.0.0.1', port });
    await first.listen();
    let answer = { address: '127.0.0.1', family: 4 };
    const asked: string[] = [];
    // dns.lookup's signature; net.connect asks for every address (`all`) when it may try both families.
    const lookup = (
      hostname: string,
      options: LookupOptions,
      callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      asked.push(hostname);
      if (options.all) callback(null, [answer]);
      else callback(null, answer.address, answer.family);
    };
    const client = new ResilientClient({ host: 'chat.internal.test', port, lookup, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    const second = new HeartbeatServer({ host: '::1', port });
    cleanup.push(() => client.close(), () => first.close(), () => second.close());
    await client.connect();
    expect(asked).toEqual(['chat.internal.test']);
    expect(first.connections()).toHaveLength(1);

    // The service moves: the name now points to ::1, and the old address stops answering.
    await second.listen();
    answer = { address: '::1', family: 6 };
    const reopened = waitFor(client, 'open');
    await first.close();
    await reopened;
    expect(second.connections()).toHaveLength(1);
    expect(second.connections()[0]?.remoteAddress).toBe('::1');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(new Set(asked)).toEqual(new Set(['chat.internal.test']));
  });

  it('a lookup that fails is a connection error like any other: classified, retried, then reported', async () => {
    const port = await freePort();
    const lookup = (_h: string, _o: unknown, callback: (err: NodeJS.ErrnoException | null) => void): void => {
      const err: NodeJS.ErrnoException = new Error('getaddrinfo ENOTFOUND nowhere.test');
      err.code = 'ENOTFOUND';
      callback(err);
    };
    const client = new ResilientClient({ host: 'nowhere.test', port, lookup: lookup as never, reconnect: { maxRetries: 2, initialDelayMs: 5 } });
    cleanup.push(() => client.close());
    const err = await client.connect().catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', cause: { code: 'ENOTFOUND' } });
  });

  it("the network watch reads the socket's local address without leaving Node's cached copy on the socket", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    // Internals on purpose: the cache (lib/net.js `_sockname`) is what an idle connection would keep (88 B, bench/heap-per-client.ts).
    const socket = (client as unknown as { life: { link: { socket: import('node:net').Socket & { _sockname?: unknown } } } }).life.link.socket;
    expect(socket._sockname).toBeNull();
    // A later read still answers: Node asks the kernel again.
    expect(socket.localAddress).toBe('127.0.0.1');
  });

  it("an open client's socket has one 'end' listener, the link's (Node's own is dropped: no listener array per socket)", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    const socket = (client as unknown as { life: { link: { socket: import('node:net').Socket } } }).life.link.socket;
    expect(socket.listenerCount('end')).toBe(1);
  });

  it('lookup must be a function', () => {
    expect(() => new ResilientClient({ host: 'x', port: 1, lookup: 'dns' as never })).toThrow(/lookup/);
    expect(() => new ResilientClient({ host: 'x', port: 1, lookup: 'dns' as never })).toThrow(TypeError);
  });
});
