/**
 * sendMany(): one promise for a batch, against the real HeartbeatServer on
 * 127.0.0.1 — order, exactly once across a server-side cut mid-batch, the
 * whole batch refused when it does not fit, abort, close during a batch.
 * Every test ends with the leak check (test/support/lifecycle.ts).
 */
import { ResilientClient, type ClientOptions } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { record } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { serverSockets } from '../support/server-internals';

const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

describe('sendMany', () => {
  const cleanup = useCleanup();

  async function rig(clientOptions: Partial<ClientOptions> = {}): Promise<{ server: HeartbeatServer; client: ResilientClient; received: string[] }> {
    const server = new HeartbeatServer({ host: '127.0.0.1', queue: { maxMessages: 20_000 } });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5, maxDelayMs: 50 }, ...clientOptions });
    client.on('error', () => undefined);
    cleanup.push(() => client.close(), () => server.close());
    const received: string[] = [];
    server.on('message', (_s, p) => received.push(p.toString()));
    return { server, client, received };
  }

  it('delivers a batch in order; its one promise resolves once every message is acknowledged', async () => {
    const { client, received } = await rig();
    await client.connect();
    const batch = range(1000, (i) => `m${i}`);
    await client.sendMany(batch);
    // messagesOut counts acknowledged messages: all of them, when the batch resolved.
    expect(client.stats()).toMatchObject({ messagesOut: 1000, queued: 0, inFlight: 0 });
    expect(received).toEqual(batch);
    await client.sendMany([]);
    const mixed = [Buffer.from('b'), new Uint8Array([0x63]), 'd'];
    await client.sendMany(mixed);
    expect(received.slice(1000)).toEqual(['b', 'c', 'd']);
  });

  it('exactly once and in order when the server destroys its socket mid-batch', async () => {
    const { server, client, received } = await rig({ queue: { maxMessages: 20_000 } });
    const cuts: number[] = [];
    server.on('message', () => {
      if (received.length === 3000 || received.length === 7000) {
        cuts.push(received.length);
        serverSockets(server)[0]?.destroy();
      }
    });
    const closes = record(client, 'close');
    await client.connect();
    // 100-byte payloads: one read holds hundreds of frames, so each cut lands mid-batch.
    const batch = range(10_000, (i) => `m${i} ${'.'.repeat(100)}`);
    await client.sendMany(batch);
    expect(cuts).toEqual([3000, 7000]);
    expect(closes.length).toBe(2);
    expect(received).toEqual(batch);
    expect(client.stats()).toMatchObject({ messagesOut: 10_000, queued: 0, inFlight: 0 });
  });

  it('a batch that does not fit the queue bounds is refused whole with ERR_QUEUE_FULL; none of it is queued', async () => {
    const { client, received } = await rig({ queue: { maxMessages: 10, maxBytes: 1000 } });
    const singles = range(5, (i) => `s${i}`).map((m) => client.send(m));
    await expect(client.sendMany(range(6, (i) => `b${i}`))).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    await expect(client.sendMany(range(11, (i) => `c${i}`))).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    await expect(client.sendMany(['x'.repeat(600), 'y'.repeat(600)])).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    expect(client.stats()).toMatchObject({ queued: 5, queuedBytes: 10 });
    expect(client.pending().map(String)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    const fits = client.sendMany(range(5, (i) => `f${i}`));
    await client.connect();
    await Promise.all([...singles, fits]);
    expect(received).toEqual([...range(5, (i) => `s${i}`), ...range(5, (i) => `f${i}`)]);
  });

  it("under 'drop-oldest' older unwritten messages make room for the whole batch, with a 'dropped' event each", async () => {
    const { client, received } = await rig({ queue: { maxMessages: 4, overflow: 'drop-oldest' } });
    const dropped = record<[{ payload: Buffer; error: { code: string } }]>(client, 'dropped');
    const old = range(3, (i) => `old${i}`).map((m) => client.send(m).then(() => 'ok', (e: { code: string }) => e.code));
    const batch = client.sendMany(['n0', 'n1', 'n2']);
    expect(dropped.map(([d]) => [d.payload.toString(), d.error.code])).toEqual([
      ['old0', 'ERR_QUEUE_FULL'],
      ['old1', 'ERR_QUEUE_FULL'],
    ]);
    await client.connect();
    await batch;
    expect(await Promise.all(old)).toEqual(['ERR_QUEUE_FULL', 'ERR_QUEUE_FULL', 'ok']);
    expect(received).toEqual(['old2', 'n0', 'n1', 'n2']);
  });

  it('invalid arguments reject with a TypeError naming them, and queue nothing', async () => {
    const { client } = await rig();
    await expect(client.sendMany('abc' as unknown as string[])).rejects.toThrow(new TypeError('sendMany() takes an array of messages, got string'));
    await expect(client.sendMany(['a', 42 as unknown as string])).rejects.toThrow(TypeError);
    await expect(client.sendMany(['a'], { ttlMs: -1 })).rejects.toThrow(/options\.ttlMs must be a number > 0, got -1/);
    await expect(client.sendMany(['a'], { signal: {} as AbortSignal })).rejects.toThrow(/options\.signal must be an AbortSignal/);
    await expect(client.sendMany(['a', 'x'.repeat(2 * 1024 * 1024)])).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
    expect(client.stats().queued).toBe(0);
  });

  it('aborting the signal withdraws the messages not yet written and rejects the batch with ERR_ABORTED', async () => {
    const { client, received } = await rig();
    const early = new AbortController();
    early.abort();
    await expect(client.sendMany(['never'], { signal: early.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const ac = new AbortController();
    const batch = client.sendMany(range(100, (i) => `w${i}`), { signal: ac.signal });
    expect(client.stats().queued).toBe(100);
    ac.abort(); // not yet connected: nothing written, all withdrawn
    await expect(batch).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(client.stats().queued).toBe(0);
    await client.connect();
    await client.sendMany(['after']);
    expect(received).toEqual(['after']);
    // Once written, an abort withdraws nothing: the batch still resolves on its acks.
    const late = new AbortController();
    const written = client.sendMany(['x', 'y'], { signal: late.signal });
    await new Promise((r) => setImmediate(r)); // the write happens on the next setImmediate
    late.abort();
    await written;
    expect(received).toEqual(['after', 'x', 'y']);
  });

  it('close during a batch the server does not acknowledge rejects it with ERR_CLOSED; pending() keeps it in order', async () => {
    const { server, client } = await rig({ closeTimeoutMs: 100 });
    await client.connect();
    // The server stops reading: nothing is acknowledged.
    serverSockets(server)[0]?.pause();
    const batch = range(200, (i) => `p${i}`);
    const p = client.sendMany(batch);
    await new Promise((r) => setImmediate(r));
    await client.close();
    await expect(p).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(client.pending().map(String)).toEqual(batch);
  });
});
