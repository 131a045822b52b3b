import { ResilientClient, ResilientError } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { FaultProxy } from '../support/fault-proxy';
import { record, waitFor, waitUntil } from '../support/events';
import { serverSockets } from '../support/server-internals';
import { useCleanup } from '../support/lifecycle';

const N = 10_000;
const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

describe('delivery across reconnects', () => {
  const cleanup = useCleanup();

  /** A server and a client that notices a silent link in 250 ms and retries within 50 ms; both hold N messages. */
  async function cutRig(): Promise<{ server: HeartbeatServer; client: ResilientClient }> {
    const server = new HeartbeatServer({ host: '127.0.0.1', queue: { maxMessages: N } });
    const { port } = await server.listen();
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      heartbeat: { intervalMs: 50, timeoutMs: 250 },
      reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
      queue: { maxMessages: N },
    });
    cleanup.push(() => client.close(), () => server.close());
    return { server, client };
  }

  it('10,000 messages, connection cut 3 ways mid-stream (socket destroyed, RST, silent server): each arrives exactly once, in order', async () => {
    const { server, client } = await cutRig();
    const received: string[] = [];
    const cuts: string[] = [];
    server.on('message', (_s, payload) => {
      received.push(payload.toString());
      const n = received.length;
      const [sock] = serverSockets(server);
      if (!sock) return;
      if (n === 2000) {
        cuts.push('destroy');
        sock.destroy();
      } else if (n === 5000) {
        cuts.push('rst');
        sock.resetAndDestroy();
      } else if (n === 8000) {
        cuts.push('silent');
        sock.pause(); // reads nothing more, answers no ping: only the heartbeat can tell
      }
    });
    const closes = record<[{ error: ResilientError }]>(client, 'close');
    await client.connect();
    // 100-byte payloads: a 64 KiB read holds ~560 frames, so each cut lands mid-stream.
    const sent = range(N, (i) => `m${i} ${'.'.repeat(100)}`);
    await Promise.all(sent.map((m) => client.send(m)));
    expect(cuts).toEqual(['destroy', 'rst', 'silent']);
    // destroy() with unread bytes in the receive buffer makes the kernel send RST too.
    expect(closes.map(([c]) => c.error.code)).toEqual(['ECONNRESET', 'ECONNRESET', 'ERR_HEARTBEAT_TIMEOUT']);
    expect(received).toEqual(sent);
    expect(client.stats()).toMatchObject({ queued: 0, inFlight: 0, messagesOut: N });
  });

  it('both directions at once: 10,000 each way across cuts, each side gets every message once, in order', async () => {
    const { server, client } = await cutRig();
    const atServer: string[] = [];
    const atClient: string[] = [];
    server.on('message', (_s, p) => {
      atServer.push(p.toString());
      if (atServer.length === 3000 || atServer.length === 7000) serverSockets(server)[0]?.resetAndDestroy();
    });
    client.on('message', (p) => {
      atClient.push(p.toString());
      if (atClient.length === 5000) serverSockets(server)[0]?.destroy();
    });
    const sessionP = waitFor<[Session]>(server, 'connection');
    await client.connect();
    const [session] = await sessionP;
    const up = range(N, (i) => `up${i}`);
    const down = range(N, (i) => `down${i}`);
    await Promise.all([...up.map((m) => client.send(m)), ...down.map((m) => session.send(m))]);
    expect(atServer).toEqual(up);
    expect(atClient).toEqual(down);
    expect(client.stats().reconnects).toBeGreaterThanOrEqual(3);
  });

  it('server restarted mid-stream (sessions lost): every message arrives at least once, ids identify duplicates, the set is complete', async () => {
    let server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5, maxDelayMs: 50 }, queue: { maxMessages: N } });
    cleanup.push(() => client.close(), () => server.close());
    const byId = new Map<number, string>();
    let total = 0;
    let restarted: Promise<void> | undefined;
    const onMessage = (_s: Session, p: Buffer, meta: { id: number }): void => {
      total++;
      const prev = byId.get(meta.id);
      if (prev !== undefined) expect(prev).toBe(p.toString()); // a duplicate is the same message
      byId.set(meta.id, p.toString());
      if (total === 3000 && !restarted) {
        restarted = (async () => {
          await server.close();
          server = new HeartbeatServer({ host: '127.0.0.1', port });
          server.on('message', onMessage);
          await server.listen();
        })();
      }
    };
    server.on('message', onMessage);
    await client.connect();
    const sent = range(N, (i) => `r${i}`);
    await Promise.all(sent.map((m) => client.send(m)));
    await restarted;
    const ids = [...byId.keys()].sort((a, b) => a - b);
    expect(ids).toEqual(range(N, (i) => String(i + 1)).map(Number));
    expect(ids.map((id) => byId.get(id))).toEqual(sent);
    expect(total).toBeGreaterThanOrEqual(N);
  });

  it("queue overflow 'reject': the send over the bound rejects at once with ERR_QUEUE_FULL; the rest are delivered", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, queue: { maxMessages: 3, overflow: 'reject' } });
    cleanup.push(() => client.close(), () => server.close());
    const got = record<[Session, Buffer]>(server, 'message');
    const ok = ['a', 'b', 'c'].map((m) => client.send(m)); // queued while idle
    await expect(client.send('d')).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    expect(client.stats().queued).toBe(3);
    await client.connect();
    await Promise.all(ok);
    expect(got.map(([, p]) => p.toString())).toEqual(['a', 'b', 'c']);
  });

  it("queue overflow 'drop-oldest': the oldest unsent send rejects with ERR_QUEUE_FULL and 'dropped' fires", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, queue: { maxMessages: 2, overflow: 'drop-oldest' } });
    cleanup.push(() => client.close(), () => server.close());
    const dropped = record<[{ payload: Buffer; error: ResilientError }]>(client, 'dropped');
    const got = record<[Session, Buffer]>(server, 'message');
    const a = client.send('a');
    const b = client.send('b');
    const c = client.send('c');
    await expect(a).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    expect(dropped.map(([d]) => d.payload.toString())).toEqual(['a']);
    await client.connect();
    await Promise.all([b, c]);
    expect(got.map(([, p]) => p.toString())).toEqual(['b', 'c']);
  });

  it("a 'dropped' listener that throws rejects the send that pushed the message out; send() itself never throws", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, queue: { maxMessages: 1, overflow: 'drop-oldest' } });
    cleanup.push(() => client.close(), () => server.close());
    const boom = new Error('listener failed');
    client.on('dropped', () => {
      throw boom;
    });
    const got = record<[Session, Buffer]>(server, 'message');
    const a = client.send('a');
    let b: Promise<void> | undefined;
    expect(() => (b = client.send('b'))).not.toThrow();
    await expect(a).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    await expect(b).rejects.toBe(boom);
    // The queue is left usable: a later send goes through.
    await client.connect();
    await client.send('c');
    expect(got.map(([, p]) => p.toString())).toEqual(['c']);
  });

  it('a message with ttlMs not written in time rejects with ERR_MESSAGE_EXPIRED and is never sent', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    const got = record<[Session, Buffer]>(server, 'message');
    const late = client.send('stale', { ttlMs: 30 });
    const keep = client.send('fresh');
    await expect(late).rejects.toMatchObject({ code: 'ERR_MESSAGE_EXPIRED' });
    await client.connect();
    await keep;
    expect(got.map(([, p]) => p.toString())).toEqual(['fresh']);
  });

  it('giveUp rejects every pending send and pending() returns them in order', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { maxRetries: 2, initialDelayMs: 5, maxDelayMs: 10 } });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    await server.close();
    const sends = ['x', 'y', 'z'].map((m) => client.send(m));
    const results = await Promise.allSettled(sends);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as ResilientError).code : 'ok'))).toEqual([
      'ERR_RETRIES_EXHAUSTED',
      'ERR_RETRIES_EXHAUSTED',
      'ERR_RETRIES_EXHAUSTED',
    ]);
    expect(client.state).toBe('failed');
    expect(client.pending().map(String)).toEqual(['x', 'y', 'z']);
  });

  it('close() rejects what the server did not acknowledge with ERR_CLOSED and pending() keeps it', async () => {
    const proxyTarget = new HeartbeatServer({ host: '127.0.0.1' });
    const { port: serverPort } = await proxyTarget.listen();
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: serverPort } });
    const { port } = await proxy.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, closeTimeoutMs: 100, heartbeat: { intervalMs: 1000, timeoutMs: 5000 } });
    cleanup.push(() => client.close(), () => proxy.close(), () => proxyTarget.close());
    await client.connect();
    proxy.blackhole('both'); // nothing gets through, nothing is acked
    const s = client.send('unacked');
    await client.close();
    await expect(s).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(client.pending().map(String)).toEqual(['unacked']);
  });

  it('1-byte slicing through the proxy decodes identically both ways', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port: serverPort } = await server.listen();
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: serverPort } });
    const { port } = await proxy.listen();
    proxy.setSlicer('both', { minBytes: 1, maxBytes: 1, delayMs: 0 });
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => proxy.close(), () => server.close());
    const atServer = record<[Session, Buffer]>(server, 'message');
    const atClient = record<[Buffer]>(client, 'message');
    const echoes: Array<Promise<unknown>> = [];
    // An echo still unacknowledged when the server closes is rejected with ERR_CLOSED: that is the contract.
    server.on('message', (session, p) => echoes.push(session.send(`echo:${p.toString()}`).catch((e: ResilientError) => e.code)));
    await client.connect();
    const sent = range(50, (i) => `sliced message ${i} ${'x'.repeat(i)}`);
    await Promise.all(sent.map((m) => client.send(m)));
    await waitUntil(client, ['message'], () => atClient.length === sent.length);
    expect(atServer.map(([, p]) => p.toString())).toEqual(sent);
    expect(atClient.map(([p]) => p.toString())).toEqual(sent.map((m) => `echo:${m}`));
  });
});
