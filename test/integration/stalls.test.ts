/**
 * A stall of our own process (GC, a long synchronous task in the app) is not
 * the peer's silence: timers run before pending socket reads, so a deadline
 * that fires late must let the reads that waited go first. The heartbeat
 * credits stalls (test/unit/heartbeat.test.ts); these pin the connect and
 * handshake deadlines, over real sockets.
 */
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { record } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { RawServer } from '../support/raw-server';

/** Blocks the event loop for `ms`, as a long synchronous task in the app would. */
function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: nothing else in this process runs meanwhile
  }
}

describe('a stall of our own process is not blamed on the peer', () => {
  const cleanup = useCleanup();

  it('connect deadline: a connect that completed during a stall longer than connectTimeoutMs opens on the first attempt', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, connectTimeoutMs: 250, reconnect: { initialDelayMs: 10 } });
    cleanup.push(() => client.close(), () => server.close());
    const closes = record(client, 'close');
    const errors = record(client, 'error');
    const opened = client.connect();
    // The kernel completes the TCP handshake meanwhile; the 'connect' event waits for the loop.
    blockFor(600);
    await opened;
    expect(client.state).toBe('open');
    expect(closes).toEqual([]);
    expect(errors).toEqual([]);
    expect(client.stats().reconnects).toBe(0);
  });

  it('handshake deadline: a WELCOME that arrived during a stall longer than heartbeat.timeoutMs is read, not timed out', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    // The WELCOME is in the kernel's buffers when the whole process stalls.
    raw.server.on('welcomed', () => blockFor(500));
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      heartbeat: { intervalMs: 50, timeoutMs: 150 },
      reconnect: { initialDelayMs: 10 },
    });
    cleanup.push(() => client.close(), () => raw.close());
    const closes = record(client, 'close');
    await client.connect();
    expect(client.state).toBe('open');
    expect(closes).toEqual([]);
    expect(client.stats().reconnects).toBe(0);
  });

  it('a deadline still fires when the peer really is silent (a stall only postpones it by the stall)', async () => {
    const raw = new RawServer({ welcome: false });
    const port = await raw.listen();
    raw.server.on('frame', () => blockFor(300));
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      heartbeat: { intervalMs: 50, timeoutMs: 150 },
      reconnect: { maxRetries: 0 },
    });
    cleanup.push(() => client.close(), () => raw.close());
    const err = await client.connect().catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', cause: { code: 'ERR_HEARTBEAT_TIMEOUT' } });
  });

  it('after a stall longer than connectTimeoutMs, a silent peer is timed out at the wake, not a second stall later', async () => {
    const raw = new RawServer({ welcome: false });
    const port = await raw.listen();
    const connectTimeoutMs = 300;
    const order: string[] = [];
    let wakePlusLength: Promise<void> | undefined;
    raw.server.on('frame', () => {
      // The HELLO is in: the whole process stalls for four times the deadline.
      blockFor(4 * connectTimeoutMs);
      // The deadline's own length after waking is the latest it may fire.
      wakePlusLength = new Promise((resolve) => setTimeout(() => resolve(void order.push('own length after waking')), connectTimeoutMs));
    });
    const client = new ResilientClient({ host: '127.0.0.1', port, connectTimeoutMs, heartbeat: false, reconnect: { maxRetries: 0 } });
    cleanup.push(() => client.close(), () => raw.close());
    const first = await client.connect().catch((e: Error) => e);
    order.push('timed out');
    await wakePlusLength;
    expect(order).toEqual(['timed out', 'own length after waking']);
    expect(first).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED', cause: { code: 'ERR_CONNECT_TIMEOUT' } });
  });
});
