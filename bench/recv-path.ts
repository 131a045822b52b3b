/**
 * The server's receive path in one process, per message: chunks of 64 B DATA
 * frames fed to an accepted connection as libuv would (`data` on the server's
 * socket), counted by a `message` listener or by a `messages` listener
 * (one batch per read). No socket I/O in the timed loop: what is measured is
 * decode, dedup, delivery and the listener, the work the raw sender →
 * HeartbeatServer throughput row saturates.
 *
 *   npx tsx bench/recv-path.ts [rounds]
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { FrameType, encodeData, encodeJson } from '../src/protocol/frames';
import { HeartbeatServer } from '../src/server';

const PAYLOAD = 64;
const PER_CHUNK = Math.floor((64 * 1024) / (4 + 1 + 8 + PAYLOAD));
const CHUNKS = 2000;

function chunks(firstId: number): Buffer[] {
  const out: Buffer[] = [];
  const payload = Buffer.alloc(PAYLOAD, 0x61);
  let id = firstId;
  for (let c = 0; c < CHUNKS; c++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < PER_CHUNK; i++) frames.push(encodeData(id++, payload));
    out.push(Buffer.concat(frames));
  }
  return out;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 6);
  const server = new HeartbeatServer({ host: '127.0.0.1' });
  const { port } = await server.listen();
  const listener = (server as unknown as { server: net.Server }).server;
  const accepted = once(listener, 'connection');
  const sock = net.connect(port, '127.0.0.1');
  sock.on('data', () => undefined);
  await once(sock, 'connect');
  const [serverSide] = (await accepted) as [net.Socket];
  const welcomed = new Promise<void>((resolve) => server.once('connection', () => resolve()));
  sock.write(encodeJson(FrameType.HELLO, { v: 1, clientId: 'bench', heartbeatMs: 0 }));
  await welcomed;
  let count = 0;
  let bytes = 0;
  const perMessage = (_s: unknown, p: Buffer): void => {
    count++;
    bytes += p.length;
  };
  const batch = (_s: unknown, b: { length: number; size(i: number): number }): void => {
    count += b.length;
    for (let i = 0; i < b.length; i++) bytes += b.size(i);
  };
  let id = 1;
  const results: Record<string, number[]> = { message: [], messages: [] };
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['message', 'messages'] as const) {
      const input = chunks(id);
      id += CHUNKS * PER_CHUNK;
      if (kind === 'message') server.on('message', perMessage);
      else server.on('messages', batch);
      count = 0;
      const t0 = process.hrtime.bigint();
      // A turn per 32 reads, as libuv's read loop (the ACK turn's setImmediate runs between them).
      for (let c = 0; c < input.length; c++) {
        serverSide.emit('data', input[c]);
        if (c % 32 === 31) await new Promise((r) => setImmediate(r));
      }
      const ns = Number(process.hrtime.bigint() - t0) / count;
      server.removeAllListeners(kind);
      if (count !== CHUNKS * PER_CHUNK) throw new Error(`counted ${count}`);
      if (r > 0) results[kind]!.push(ns);
    }
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
  console.log(JSON.stringify({ perChunk: PER_CHUNK, message: med(results.message!).toFixed(1), messages: med(results.messages!).toFixed(1), runs: results }));
  sock.destroy();
  await server.close();
}

void main();
