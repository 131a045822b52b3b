/**
 * JS heap per idle connected client (issue 12 item 2), not part of the suite:
 * N ResilientClients (native protocol, heartbeat on, otherwise defaults)
 * against one HeartbeatServer in a CHILD process, so the server's heap is not
 * counted, beside N raw idle net.Sockets to a plain net.Server in the same
 * child (the baseline). Measured once every client has had its first pong
 * (one heartbeat interval), so what a ping leaves behind is counted, after
 * a warm-up batch of clients went through the same and closed, so the
 * code V8 compiles for the library is not counted as memory per client. Per connection = (heapUsed + external after full GCs
 * with N open − before) / N. Then a heap snapshot before and after the N
 * clients, summed by constructor (self size), prints the top retainers of
 * the difference.
 *
 *   node --expose-gc --require ./bench/ts-require.cjs bench/heap-per-client.ts [N]
 *
 * HEAP_TOP=60 prints more rows of the table (default 25).
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { ResilientClient } from '../src/client/client';
import { noop } from '../src/core/noop';
import { HeartbeatServer } from '../src/server';
import { HeapSnapshots, jsAfterGc, openInBatches as inBatches } from './heap-snapshot';
import { emit, serve, sleep, startChild, withTimeout } from './proc';
import { loadAvg } from './report';

const BATCH = 200;
/** Rows of the by-constructor table (HEAP_TOP overrides). */
const TOP = Number(process.env.HEAP_TOP) || 25;

async function serverProcess(): Promise<void> {
  const server = new HeartbeatServer({ host: '127.0.0.1', maxConnections: 100_000 });
  const { port } = await server.listen();
  const raw = net.createServer((s) => s.on('error', () => undefined));
  raw.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
  await once(raw, 'listening');
  serve({});
  emit('ready', { port, rawPort: (raw.address() as net.AddressInfo).port });
}

async function main(n: number): Promise<void> {
  const srv = startChild(__filename, ['server'], { ulimitFiles: 65_536, nodeArgs: ['--expose-gc'] });
  const snaps = new HeapSnapshots('heap-per-client');
  const openInBatches = (k: number, open: () => Promise<void>): Promise<void> => inBatches(k, BATCH, open);
  try {
    const { port, rawPort } = await srv.next<{ port: number; rawPort: number }>('ready', 20_000);
    console.log(`N = ${n}, load average ${loadAvg()}`);

    const raws: net.Socket[] = [];
    const r0 = await jsAfterGc();
    await openInBatches(n, async () => {
      const s = net.connect({ host: '127.0.0.1', port: rawPort });
      s.on('error', () => undefined);
      raws.push(s);
      await once(s, 'connect');
    });
    const r1 = await jsAfterGc();
    for (const s of raws.splice(0)) s.destroy();
    await sleep(200);

    let clients: ResilientClient[] = [];
    let pongs: Array<Promise<unknown>> = [];
    const open = async (): Promise<void> => {
      const c = new ResilientClient({ host: '127.0.0.1', port });
      // One function for every client, as an application attaches its handler (and as
      // bench/heap-per-conn-server.ts does): an arrow made here per client kept itself and
      // this function's context alive, 96 B per client that were the bench's, not the client's.
      c.on('error', noop);
      clients.push(c);
      pongs.push(new Promise((resolve) => c.once('heartbeat', resolve)));
      await c.connect();
    };
    // Steady state: every client has had a ping answered (one interval, 5 s by default), not only its handshake.
    const firstPongs = async (): Promise<void> => {
      await withTimeout(Promise.all(pongs), 60_000, 'first pongs');
      pongs = [];
    };
    // Warm-up: one batch through a whole interval and closed, so the code V8 compiles for the library is not counted per client.
    await openInBatches(BATCH, open);
    await firstPongs();
    await Promise.all(clients.map((c) => c.destroy()));
    clients = [];
    await sleep(200);

    const c0 = await jsAfterGc();
    snaps.take('before');
    await openInBatches(n, open);
    await firstPongs();
    await sleep(500);
    const c1 = await jsAfterGc();
    snaps.take('after');
    console.log(`raw net.Socket: ${((r1 - r0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection`);
    console.log(`ResilientClient: ${((c1 - c0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection`);

    snaps.printDiff(0, 1, n, 'client', TOP);
    await Promise.all(clients.map((c) => c.destroy()));
  } finally {
    snaps.dispose();
    await srv.stop();
  }
}

if (process.argv[2] === 'server') void serverProcess();
else void main(Number(process.argv[2] ?? 2000)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
