/**
 * The fault-injecting proxy (test/support/fault-proxy.ts) against a plain
 * `net` echo server on 127.0.0.1. Every wait is for an event; time is only
 * measured (lower bounds), never slept.
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { FaultProxy, type FaultEvent, type FaultKind } from '../support/fault-proxy';
import { seeded } from '../support/seeded';

jest.setTimeout(20_000);

function randomBytes(n: number, random: () => number): Buffer {
  const buf = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buf[i] = Math.floor(random() * 256);
  return buf;
}

interface Echo {
  port: number;
  server: net.Server;
  /** Server-side sockets, in accept order. */
  sockets: net.Socket[];
  /** Bytes each server-side socket received, by accept order. */
  received: Buffer[][];
  /** The first server-side socket, once accepted. */
  accepted: Promise<net.Socket>;
  /** The i-th server-side socket (0-based), once accepted. */
  nth(i: number): Promise<net.Socket>;
}

async function startEcho(): Promise<Echo> {
  const sockets: net.Socket[] = [];
  const received: Buffer[][] = [];
  let onAccept!: (s: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (onAccept = resolve));
  const server = net.createServer((socket) => {
    const got: Buffer[] = [];
    sockets.push(socket);
    received.push(got);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      got.push(d);
      socket.write(d);
    });
    onAccept(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const nth = async (i: number): Promise<net.Socket> => {
    while (!sockets[i]) await once(server, 'connection');
    return sockets[i] as net.Socket;
  };
  return { port: (server.address() as net.AddressInfo).port, server, sockets, received, accepted, nth };
}

async function closeEcho(echo: Echo): Promise<void> {
  for (const s of echo.sockets) s.destroy();
  await Promise.all([new Promise<void>((resolve) => echo.server.close(() => resolve())), ...echo.sockets.map(closed)]);
  // The server's handle is released in the loop's close phase, after its 'close' event.
  await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

interface Client {
  socket: net.Socket;
  errors: NodeJS.ErrnoException[];
  chunks: Buffer[];
}

async function connect(port: number): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const client: Client = { socket, errors: [], chunks: [] };
  socket.on('error', (err: NodeJS.ErrnoException) => client.errors.push(err));
  socket.on('data', (d: Buffer) => client.chunks.push(d));
  await once(socket, 'connect');
  return client;
}

/** Resolves on the socket's 'close' (unlike events.once, an 'error' before it does not reject). */
function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

async function closeClient(c: Client): Promise<void> {
  const done = closed(c.socket);
  c.socket.destroy();
  await done;
}

/** Resolves once `socket` has received `n` bytes since `chunks` was empty; resolves with the time of arrival. */
function receiveBytes(socket: net.Socket, chunks: Buffer[], n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const have = chunks.reduce((sum, c) => sum + c.length, 0);
      if (have < n) return;
      socket.off('data', check);
      socket.off('close', onClose);
      resolve(performance.now());
    };
    const onClose = (): void => reject(new Error(`socket closed after ${chunks.reduce((s, c) => s + c.length, 0)} of ${n} bytes`));
    socket.on('data', check);
    socket.on('close', onClose);
    check();
  });
}

function nextFault(proxy: FaultProxy, kind: FaultKind): Promise<FaultEvent> {
  return new Promise((resolve) => {
    const on = (e: FaultEvent): void => {
      if (e.kind !== kind) return;
      proxy.off('fault', on);
      resolve(e);
    };
    proxy.on('fault', on);
  });
}

describe('FaultProxy', () => {
  let echo: Echo;
  let proxy: FaultProxy;
  let proxyPort: number;
  let clients: Client[];

  beforeEach(async () => {
    clients = [];
    echo = await startEcho();
    proxy = new FaultProxy({ target: { host: '127.0.0.1', port: echo.port }, random: seeded(42) });
    proxyPort = (await proxy.listen()).port;
  });

  afterEach(async () => {
    await Promise.all(clients.map(closeClient));
    await proxy.close();
    await closeEcho(echo);
  });

  async function client(): Promise<Client> {
    const c = await connect(proxyPort);
    clients.push(c);
    return c;
  }

  test('forwards bytes both ways and counts them', async () => {
    const c = await client();
    c.socket.write('hello proxy');
    await receiveBytes(c.socket, c.chunks, 11);
    expect(Buffer.concat(c.chunks).toString()).toBe('hello proxy');
    expect(Buffer.concat(echo.received[0] ?? []).toString()).toBe('hello proxy');
    const stats = proxy.stats();
    expect(stats.bytesForwarded).toEqual({ upstream: 11, downstream: 11 });
    expect(stats.connectionCount).toBe(1);
    expect(proxy.connectionCount).toBe(1);
  });

  test('1-byte slicing delivers the identical byte stream', async () => {
    proxy.setSlicer('both', { minBytes: 1, maxBytes: 1, delayMs: 0 });
    const c = await client();
    const payload = randomBytes(16 * 1024, seeded(7));
    c.socket.write(payload);
    await receiveBytes(c.socket, c.chunks, payload.length);
    expect(Buffer.concat(c.chunks).equals(payload)).toBe(true);
    expect(proxy.stats().faults.slice).toBeGreaterThan(0);
  });

  test('random slicing with gaps between pieces keeps the stream intact', async () => {
    proxy.setSlicer('upstream', { minBytes: 1, maxBytes: 7, delayMs: 1 });
    const c = await client();
    const payload = randomBytes(600, seeded(8));
    c.socket.write(payload);
    await receiveBytes(c.socket, c.chunks, payload.length);
    expect(Buffer.concat(c.chunks).equals(payload)).toBe(true);
    // 600 bytes in pieces of at most 7 arrive in many reads on the server side.
    expect(echo.received[0]?.length ?? 0).toBeGreaterThan(1);
  });

  test('latency delays each chunk by at least the set time', async () => {
    const c = await client();
    proxy.setLatency('upstream', 150, 50);
    const serverGot = once(await echo.accepted, 'data').then(() => performance.now());
    const sentAt = performance.now();
    c.socket.write('x');
    expect((await serverGot) - sentAt).toBeGreaterThanOrEqual(150);
    expect(proxy.stats().faults.latency).toBe(1);
  });

  test('jittered latency never reorders chunks', async () => {
    proxy.setLatency('both', 5, 60);
    const c = await client();
    const sent: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const msg = Buffer.from(`<${i}>`);
      sent.push(msg);
      c.socket.write(msg);
      // Separate event-loop turns, so the proxy sees separate chunks with separate jitter.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const all = Buffer.concat(sent);
    await receiveBytes(c.socket, c.chunks, all.length);
    expect(Buffer.concat(c.chunks).toString()).toBe(all.toString());
  });

  test('black hole discards bytes silently and keeps the connection open', async () => {
    const c = await client();
    proxy.blackhole('upstream', true);
    const dropped = nextFault(proxy, 'blackhole');
    c.socket.write('lost');
    await dropped;
    expect(proxy.stats().bytesDropped.upstream).toBe(4);
    proxy.blackhole('upstream', false);
    c.socket.write('found');
    await receiveBytes(c.socket, c.chunks, 5);
    // Only what was sent after the hole closed arrived at the server and came back.
    expect(Buffer.concat(echo.received[0] ?? []).toString()).toBe('found');
    expect(Buffer.concat(c.chunks).toString()).toBe('found');
    expect(c.errors).toEqual([]);
    expect(c.socket.readyState).toBe('open');
  });

  test('black hole downstream swallows the reply, then heals', async () => {
    const c = await client();
    proxy.blackhole('downstream');
    const dropped = nextFault(proxy, 'blackhole');
    c.socket.write('ping');
    await dropped;
    expect(Buffer.concat(echo.received[0] ?? []).toString()).toBe('ping');
    expect(c.chunks).toEqual([]);
    proxy.clearFaults();
    c.socket.write('pong');
    await receiveBytes(c.socket, c.chunks, 4);
    expect(Buffer.concat(c.chunks).toString()).toBe('pong');
    expect(c.errors).toEqual([]);
  });

  test('black hole holds back the FIN until it is lifted', async () => {
    const c = await client();
    let ended = false;
    c.socket.on('end', () => (ended = true));
    proxy.blackhole('downstream');
    const held = nextFault(proxy, 'blackhole');
    (await echo.accepted).end();
    await held;
    expect(ended).toBe(false);
    const clientEnded = once(c.socket, 'end');
    proxy.blackhole('downstream', false);
    await clientEnded;
    expect(c.errors).toEqual([]);
  });

  test('resetAll gives the client ECONNRESET', async () => {
    const c = await client();
    c.socket.write('hi');
    await receiveBytes(c.socket, c.chunks, 2);
    const failed = once(c.socket, 'error') as Promise<[NodeJS.ErrnoException]>;
    proxy.resetAll();
    const [err] = await failed;
    expect(err.code).toBe('ECONNRESET');
    expect(proxy.stats().faults.reset).toBe(1);
  });

  test('an RST from the server reaches the client as ECONNRESET', async () => {
    const c = await client();
    const serverSide = await echo.accepted;
    const failed = once(c.socket, 'error') as Promise<[NodeJS.ErrnoException]>;
    serverSide.resetAndDestroy();
    const [err] = await failed;
    expect(err.code).toBe('ECONNRESET');
  });

  test('limitData upstream cuts after exactly n more bytes', async () => {
    const c = await client();
    c.socket.write('hello');
    await receiveBytes(c.socket, c.chunks, 5);
    proxy.limitData('upstream', 1000);
    const serverSide = await echo.accepted;
    const serverClosed = closed(serverSide);
    const cut = nextFault(proxy, 'limitData');
    c.socket.write(randomBytes(5000, seeded(9)));
    await Promise.all([serverClosed, cut]);
    const got = (echo.received[0] ?? []).reduce((sum, b) => sum + b.length, 0);
    expect(got).toBe(5 + 1000);
    await closed(c.socket);
  });

  test('limitData downstream delivers exactly n bytes to the client, then closes it', async () => {
    proxy.limitData('downstream', 777);
    const c = await client();
    const payload = randomBytes(3000, seeded(10));
    const clientClosed = closed(c.socket);
    c.socket.write(payload);
    await clientClosed;
    const got = Buffer.concat(c.chunks);
    expect(got.length).toBe(777);
    expect(got.equals(payload.subarray(0, 777))).toBe(true);
    expect(proxy.stats().faults.limitData).toBe(1);
  });

  test('slow close delays the end in both directions', async () => {
    proxy.setSlowClose(300);
    const c = await client();
    const serverSide = await echo.accepted;
    const clientEnded = once(c.socket, 'end').then(() => performance.now());
    const endedAt = performance.now();
    serverSide.end();
    expect((await clientEnded) - endedAt).toBeGreaterThanOrEqual(300);

    const c2 = await client();
    const serverSide2 = await echo.nth(1);
    const serverEnded = once(serverSide2, 'end').then(() => performance.now());
    const clientEndAt = performance.now();
    c2.socket.end();
    expect((await serverEnded) - clientEndAt).toBeGreaterThanOrEqual(300);
    expect(proxy.stats().faults.slowClose).toBeGreaterThanOrEqual(2);
  });

  test('bandwidth limit spreads delivery over the expected time', async () => {
    const c = await client();
    proxy.setBandwidth('downstream', 20_000);
    const sentAt = performance.now();
    c.socket.write(randomBytes(4000, seeded(11)));
    const arrivedAt = await receiveBytes(c.socket, c.chunks, 4000);
    // 4000 B at 20 000 B/s take 200 ms.
    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(199);
    expect(proxy.stats().faults.bandwidth).toBeGreaterThan(0);
  });

  test('an unreachable target resets the client', async () => {
    const spare = net.createServer();
    spare.listen(0, '127.0.0.1');
    await once(spare, 'listening');
    const deadPort = (spare.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const dead = new FaultProxy({ target: { host: '127.0.0.1', port: deadPort } });
    try {
      const c = await connect((await dead.listen()).port);
      clients.push(c);
      await closed(c.socket);
      expect(c.errors.map((e) => e.code)).toEqual(['ECONNRESET']);
      if (dead.connectionCount > 0) await once(dead, 'connectionClosed');
      expect(dead.stats()).toMatchObject({ connectionsAccepted: 1, connectionCount: 0 });
    } finally {
      await dead.close();
    }
  });

  test('connectionCount follows connections opening and closing', async () => {
    const c = await client();
    expect(proxy.connectionCount).toBe(1);
    const gone = once(proxy, 'connectionClosed');
    await closeClient(c);
    await gone;
    expect(proxy.connectionCount).toBe(0);
    expect(proxy.stats()).toMatchObject({ connectionsAccepted: 1, connectionCount: 0 });
  });
});

describe('FaultProxy.close', () => {
  test('leaves no handle or timer behind, even with faults pending', async () => {
    const before = process.getActiveResourcesInfo().slice().sort();
    const echo = await startEcho();
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: echo.port }, random: seeded(1) });
    const { port } = await proxy.listen();
    const c = await connect(port);
    c.socket.write('warm');
    await receiveBytes(c.socket, c.chunks, 4);
    // Leave a latency timer and a slow-close timer pending when close() runs.
    proxy.setSlowClose(10_000);
    proxy.setLatency('upstream', 10_000);
    const queued = nextFault(proxy, 'latency');
    c.socket.write('queued');
    await queued;
    (await echo.accepted).end();
    await nextFault(proxy, 'slowClose');

    const clientClosed = closed(c.socket);
    await proxy.close();
    await proxy.close(); // idempotent
    await clientClosed;
    await closeEcho(echo);
    expect(process.getActiveResourcesInfo().slice().sort()).toEqual(before);
  });
});
