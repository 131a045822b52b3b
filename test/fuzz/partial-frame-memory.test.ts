/**
 * Memory held for partial frames, measured after a full collection: peers
 * that trickle a frame one byte per TCP segment and never finish it. The
 * decoder keeps one buffer per partial frame, grown by doubling up to the
 * declared length (src/protocol/partial-buffer.ts), so what it holds is at
 * most twice the bytes received plus a small constant per peer, however the
 * bytes are cut. A decoder that kept each chunk as its own Buffer measured
 * ~100 bytes of heap per byte here (+18.8 MiB for 24 peers x 8 KiB).
 *
 * The server runs in a child process started with --expose-gc
 * (test/fixtures/memory-server-process.ts): its heap holds nothing of the
 * test runner's. The client side is measured in this process.
 */
import type { Socket } from 'node:net';
import * as net from 'node:net';
import { ResilientClient } from '../../src';
import { DEFAULT_MAX_FRAME_BYTES, FrameType, MAX_HANDSHAKE_FRAME_BYTES } from '../../src/protocol/frames';
import { waitFor } from '../support/events';
import { memoryAfterGc } from '../support/gc';
import { useCleanup } from '../support/lifecycle';
import { startMemoryServer, type MemoryReport, type MemoryServer } from '../support/memory-server';
import { RawClient } from '../support/raw-client';
import { RawServer } from '../support/raw-server';
import { trickle } from '../support/trickle';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The decoder's buffer doubles, so it holds at most 2 bytes per byte received; 3 leaves room for the sockets' own reads. */
const BYTES_PER_BYTE = 3;
/** Fixed cost per peer beyond its bytes (the buffer's minimum, its objects). */
const PER_PEER = 4 * KiB;
/** What a heap measured after gc() moves by on its own between two samples. */
const NOISE = 1 * MiB;
/** Stalls are not under test here: nothing may be closed while the bytes trickle in. */
const PATIENT = { handshakeTimeoutMs: 120_000, frameTimeoutMs: 120_000, idleTimeoutMs: 120_000 };
/** Bound on polls of the child while waiting for it to catch up. */
const MAX_POLLS = 200;

/** The first `sendBytes` bytes of a frame declaring `declared` bytes (type byte included). */
function frameStart(type: FrameType, declared: number, sendBytes: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(4 + sendBytes, 0x20);
  out.writeUInt32BE(declared, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

const held = (m: { heapUsed: number; arrayBuffers: number }): number => m.heapUsed + m.arrayBuffers;

/** Polls the child until `done` holds for its report (bounded). */
async function memoryWhen(server: MemoryServer, done: (m: MemoryReport) => boolean, what: string): Promise<MemoryReport> {
  for (let i = 0; i < MAX_POLLS; i++) {
    const m = await server.memory();
    if (done(m)) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`memory server: ${what} not reached after ${MAX_POLLS} polls`);
}

async function connectAll(port: number, n: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      return new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    }),
  );
}

describe('memory held for partial frames: server (child process, after gc)', () => {
  const cleanup = useCleanup();

  async function server(): Promise<MemoryServer> {
    const s = await startMemoryServer(PATIENT);
    cleanup.push(() => s.stop());
    return s;
  }

  /** Trickles one stream per socket and returns the server's growth and what it read. */
  async function trickledGrowth(s: MemoryServer, sockets: Socket[], stream: Buffer): Promise<{ growth: number; bytes: number; chunks: number }> {
    const before = await memoryWhen(s, (m) => m.sockets === sockets.length, `${sockets.length} accepted sockets`);
    const expected = before.bytes + stream.length * sockets.length;
    // Each byte is read by the server before the next is written: one byte per read.
    await trickle(
      sockets.map((socket) => ({ socket, bytes: stream })),
      { afterRound: (written) => s.read(before.bytes + written) },
    );
    const after = await memoryWhen(s, (m) => m.bytes >= expected, `${expected} bytes read`);
    expect(after.sockets).toBe(sockets.length); // every frame is still partial, nothing was closed
    const bytes = after.bytes - before.bytes;
    const chunks = after.chunks - before.chunks;
    const growth = held(after) - held(before);
    console.log(`server: ${sockets.length} peers, ${bytes} bytes in ${chunks} reads: +${(growth / MiB).toFixed(2)} MiB (${(growth / bytes).toFixed(1)} per byte)`);
    return { growth, bytes, chunks };
  }

  it('24 unauthenticated peers trickling a HELLO up to its 8 KiB bound one byte per segment: at most ~2 bytes held per byte received', async () => {
    const s = await server();
    const peers = 24;
    const sockets = await connectAll(s.port, peers);
    cleanup.push(() => sockets.forEach((x) => x.destroy()));
    // One byte short of the bound: the frame is never complete, never refused.
    const stream = frameStart(FrameType.HELLO, MAX_HANDSHAKE_FRAME_BYTES, MAX_HANDSHAKE_FRAME_BYTES - 1, Buffer.from('{"v":1,"clientId":"'));
    const { growth, bytes, chunks } = await trickledGrowth(s, sockets, stream);
    // The trickle reached the server as one-byte reads (else this test measures nothing).
    expect(chunks).toBeGreaterThan(bytes / 2);
    expect(growth).toBeLessThanOrEqual(BYTES_PER_BYTE * bytes + PER_PEER * peers + NOISE);
  }, 60_000);

  it('8 authenticated peers trickling 8 KiB of a 1 MiB DATA frame: memory follows the bytes sent, not the length declared', async () => {
    const s = await server();
    const peers = 8;
    const raws = await Promise.all(
      Array.from({ length: peers }, async (_, i) => {
        const r = await RawClient.connect(s.port);
        cleanup.push(() => r.destroy());
        r.hello({ clientId: `big-${i}` });
        await r.nextFrame(FrameType.WELCOME);
        return r;
      }),
    );
    const id = Buffer.alloc(8);
    id.writeUInt32BE(1, 4);
    const stream = frameStart(FrameType.DATA, DEFAULT_MAX_FRAME_BYTES, 8 * KiB, id);
    const { growth, bytes, chunks } = await trickledGrowth(
      s,
      raws.map((r) => r.socket),
      stream,
    );
    expect(chunks).toBeGreaterThan(bytes / 2);
    // Far below the 1 MiB per peer that allocating the declared length would cost.
    expect(growth).toBeLessThanOrEqual(BYTES_PER_BYTE * bytes + PER_PEER * peers + NOISE);
  }, 60_000);
});

const heldHere = (): number => held(memoryAfterGc());

describe('memory held for partial frames: client (this process, after gc)', () => {
  const cleanup = useCleanup();

  it('a server trickling 4 KiB of a 1 MiB DATA frame to 16 clients one byte per segment: at most ~2 bytes held per byte received', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    cleanup.push(() => raw.close());
    const peers = 16;
    const welcomed: Socket[] = [];
    raw.server.on('welcomed', (socket: Socket) => welcomed.push(socket));
    const clients = Array.from({ length: peers }, (_, i) => new ResilientClient({ host: '127.0.0.1', port, clientId: `c${i}`, heartbeat: false, frameTimeoutMs: false, reconnect: false }));
    cleanup.push(...clients.map((c) => () => c.close()));
    await Promise.all(clients.map((c) => c.connect()));
    // WELCOME is written before 'welcomed' fires: wait for the last socket to be known.
    while (welcomed.length < peers) await waitFor(raw.server, 'welcomed');
    const inBefore = clients.map((c) => c.stats().bytesIn);
    const before = heldHere();

    const id = Buffer.alloc(8);
    id.writeUInt32BE(1, 4);
    const stream = frameStart(FrameType.DATA, DEFAULT_MAX_FRAME_BYTES, 4 * KiB, id);
    await trickle(welcomed.map((socket) => ({ socket, bytes: stream })));
    // Bounded: each turn of the loop reads what the last one wrote.
    for (let i = 0; i < MAX_POLLS && clients.some((c, k) => c.stats().bytesIn - (inBefore[k] as number) < stream.length); i++) {
      await new Promise((r) => setImmediate(r));
    }
    const bytes = clients.reduce((sum, c, k) => sum + c.stats().bytesIn - (inBefore[k] as number), 0);
    expect(bytes).toBe(stream.length * peers);
    expect(clients.every((c) => c.state === 'open')).toBe(true);
    const growth = heldHere() - before;
    console.log(`client: ${peers} clients, ${bytes} bytes: +${(growth / MiB).toFixed(2)} MiB (${(growth / bytes).toFixed(1)} per byte)`);
    expect(growth).toBeLessThanOrEqual(BYTES_PER_BYTE * bytes + PER_PEER * peers + NOISE);
  }, 60_000);
});
