/**
 * Floods against a real HeartbeatServer on 127.0.0.1: a connection storm
 * past maxConnections, an oversize HELLO before authentication, and a peer
 * that pipelines pings without ever reading the answers.
 */
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ResilientClient } from '../../src';
import { FrameDecoder } from '../../src/protocol/decoder';
import { FrameType, decodeErrorPayload, encodeJson, encodePing } from '../../src/protocol/frames';
import { HeartbeatServer } from '../../src/server';
import { record, waitFor } from '../support/events';
import { RawClient } from '../support/raw-client';
import { serverSockets } from '../support/server-internals';
import { useCleanup } from '../support/lifecycle';

// A real collection before each memory sample, so the numbers show what is
// held, not garbage the collector has not reached yet.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 1024 * 1024;
const ADMITTED = 50;
const FLOOD = 10_000;
/** Connections in flight at once: well under the listen backlog (511), so none waits for a SYN retry. */
const BATCH = 200;

/** Heap and buffers held after a full collection. */
function heldBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

interface FloodResult {
  closed: number;
  /** ERROR frame code (or how the socket ended without one) -> count. */
  outcomes: Map<string, number>;
}

/** One refused connection: resolves on 'close' with the ERROR frame's code, read from at most 256 bytes. */
function refusedConnection(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new FrameDecoder(1024);
    let code: string | undefined;
    let failure: string | undefined;
    let seen = 0;
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 256) return void socket.destroy(); // a refusal is one small frame: anything more is wrong
      try {
        for (const f of decoder.push(chunk)) if (f.type === FrameType.ERROR) code ??= decodeErrorPayload(f.payload).code;
      } catch (err) {
        failure = `bad bytes: ${(err as Error).message}`;
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (failure ??= err.code ?? err.message));
    socket.once('close', () => resolve(code ?? `no ERROR frame (${failure ?? 'clean close'})`));
  });
}

/** `count` connections, BATCH at a time; each batch waits until all its sockets have closed. */
async function flood(port: number, count: number, server: HeartbeatServer, admitted: number): Promise<FloodResult> {
  const outcomes = new Map<string, number>();
  let closed = 0;
  for (let done = 0; done < count; ) {
    const n = Math.min(BATCH, count - done);
    const codes = await Promise.all(Array.from({ length: n }, () => refusedConnection(port)));
    for (const c of codes) outcomes.set(c, (outcomes.get(c) ?? 0) + 1);
    closed += codes.length;
    done += n;
    // Refused sockets are never counted: the admitted ones stay the only ones.
    expect(server.socketCount).toBe(admitted);
  }
  return { closed, outcomes };
}

describe('connection flood past maxConnections', () => {
  const cleanup = useCleanup();

  it(`${ADMITTED} clients admitted, ${FLOOD} more refused with ERR_SERVER_FULL: every one closed, no memory kept per refusal, the ${ADMITTED} still work`, async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', maxConnections: ADMITTED });
    cleanup.push(() => server.close());
    const { port } = await server.listen();
    // Counted, not kept: holding 10,000 errors would be the very growth measured below.
    let refusals = 0;
    server.on('error', (err) => void (err.code === 'ERR_SERVER_FULL' && refusals++));
    const received = new Map<string, string[]>();
    server.on('message', (s, payload) => received.set(s.clientId, [...(received.get(s.clientId) ?? []), payload.toString()]));

    const clients = Array.from(
      { length: ADMITTED },
      (_, i) => new ResilientClient({ host: '127.0.0.1', port, clientId: `admitted-${i}`, heartbeat: { intervalMs: 1000, timeoutMs: 10_000 } }),
    );
    cleanup.push(() => Promise.all(clients.map((c) => c.close())));
    await Promise.all(clients.map((c) => c.connect()));
    const closes = clients.map((c) => record(c, 'close'));
    expect(server.socketCount).toBe(ADMITTED);

    // Warm-up: the first refusals allocate lazily initialised state (JIT, pools) once.
    await flood(port, 2 * BATCH, server, ADMITTED);
    const baseline = heldBytes();
    const result = await flood(port, FLOOD, server, ADMITTED);
    const growth = heldBytes() - baseline;

    expect(result.closed).toBe(FLOOD);
    expect(Object.fromEntries(result.outcomes)).toEqual({ ERR_SERVER_FULL: FLOOD });
    expect(refusals).toBe(FLOOD + 2 * BATCH);
    // Nothing is kept per refused socket: measured ~0.4-0.5 MB over the whole flood
    // (~50 B per refusal, the runtime's own noise). The bound is 256 B per refusal;
    // an idle accepted socket costs ~3.9 KB (DESIGN.md), so keeping any part of
    // one per refusal would cross it several times over.
    expect(growth).toBeLessThan(FLOOD * 256);
    expect(server.socketCount).toBe(ADMITTED);

    // The admitted clients never noticed and still round-trip.
    expect(closes.map((c) => c.length)).toEqual(clients.map(() => 0));
    await Promise.all(clients.map((c, i) => c.send(`after the flood ${i}`)));
    for (let i = 0; i < ADMITTED; i++) expect(received.get(`admitted-${i}`)).toEqual([`after the flood ${i}`]);
    expect(server.connections()).toHaveLength(ADMITTED);
  }, 60_000);
});

describe('hostile handshakes and pipelining', () => {
  const cleanup = useCleanup();

  it('a HELLO carrying a 100 KB token is refused with ERR_FRAME_TOO_LARGE before authenticate is called', async () => {
    const authenticate = jest.fn(() => true);
    const server = new HeartbeatServer({ host: '127.0.0.1', authenticate });
    cleanup.push(() => server.close());
    const { port } = await server.listen();

    const big = await RawClient.connect(port);
    cleanup.push(() => big.destroy());
    big.hello({ clientId: 'big', token: 'x'.repeat(100_000) });
    await big.closed;
    expect(big.errorCode()).toBe('ERR_FRAME_TOO_LARGE');
    expect(authenticate).not.toHaveBeenCalled();
    expect(server.socketCount).toBe(0);

    // The spy is wired: an ordinary HELLO does reach it.
    const ok = await RawClient.connect(port);
    cleanup.push(() => ok.destroy());
    ok.hello({ clientId: 'ok', token: 'short' });
    await ok.nextFrame(FrameType.WELCOME);
    expect(authenticate).toHaveBeenCalledTimes(1);
    expect(authenticate.mock.calls[0]).toEqual([{ clientId: 'ok', token: 'short' }, expect.objectContaining({ remoteAddress: '127.0.0.1' })]);
  });

  it('a peer that pipelines pings and never reads the pongs: the server does not buffer them without bound', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    cleanup.push(() => server.close());
    const { port } = await server.listen();
    const socket = net.connect(port, '127.0.0.1');
    cleanup.push(() => socket.destroy());
    socket.on('error', () => {});
    await waitFor(socket, 'connect');
    socket.write(encodeJson(FrameType.HELLO, { v: 1, clientId: 'flooder', heartbeatMs: 0 }));
    await waitFor(socket, 'data'); // WELCOME
    socket.pause(); // from here on nothing is read: every PONG stays with the server or the kernel

    const ping = encodePing(FrameType.PING, { seq: 1, sentAt: 1 });
    const batch = Buffer.concat(Array.from({ length: 4096 }, () => ping)); // 68 KiB of pings
    const limit = 64 * MiB;
    let sent = 0;
    while (sent < limit && !socket.destroyed) {
      sent += batch.length;
      if (socket.write(batch)) continue;
      // A server that stops reading leaves our writes pending: that is the bound working.
      if (!(await drainedWithin(socket, 1000))) break;
    }
    // PONGs the server holds for this peer (the writer blocks at 1 MiB, src/io/writer.ts;
    // one read's worth may come on top), in MiB, after up to 64 MiB of pings.
    const heldMiB = serverSockets(server).reduce((sum, s) => sum + s.writableLength, 0) / MiB;
    expect(heldMiB).toBeLessThan(4);
  }, 30_000);
});

/** True when the socket drains within `ms`, false when it stays blocked (or closes). */
function drainedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}
