/**
 * JS heap per accepted connection on the HeartbeatServer (issue 12 item 2,
 * the server side of bench/heap-per-client.ts), not part of the suite. This
 * process is the server and is the one measured; the clients run in a CHILD
 * process, so their heap is not counted. N ResilientClients (native
 * protocol, heartbeat 1 s, otherwise defaults) connect and each waits for its
 * first pong, so what answering a ping leaves behind is counted; beside them
 * N raw net.Sockets to a plain net.Server in this process (the baseline: what
 * Node itself holds per accepted socket). A warm-up batch goes through the
 * same and closes first, so the code V8 compiles for the server is not
 * counted. Per connection = (heapUsed + external after full GCs with N open −
 * before) / N; it includes the connection's Session. Then a heap snapshot
 * before and after the N connections, summed by constructor (self size),
 * prints the top retainers of the difference.
 *
 *   bash -c 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; node --expose-gc --require ./bench/ts-require.cjs bench/heap-per-conn-server.ts [N]'
 *
 * HEAP_TOP=60 prints more rows of the table (default 25).
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { ResilientClient } from '../src/client/client';
import { noop } from '../src/core/noop';
import { HeartbeatServer } from '../src/server';
import { HeapSnapshots, jsAfterGc, openInBatches } from './heap-snapshot';
import { emit, serve, sleep, startChild, waitUntil } from './proc';
import { loadAvg } from './report';

const BATCH = 200;
/** Rows of the by-constructor table (HEAP_TOP overrides). */
const TOP = Number(process.env.HEAP_TOP) || 25;
/** Each client's ping interval: short, so every connection has answered one within seconds. */
const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };

/** The child: opens and closes clients on the parent's calls. */
function clientsProcess(): void {
  const raws: net.Socket[] = [];
  const clients: ResilientClient[] = [];
  serve({
    raw: async ({ n, port }) =>
      openInBatches(n as number, BATCH, async () => {
        const s = net.connect({ host: '127.0.0.1', port: port as number });
        s.on('error', noop);
        raws.push(s);
        await once(s, 'connect');
      }),
    // Resolves once every client is open and has had a ping answered.
    clients: async ({ n, port }) =>
      openInBatches(n as number, BATCH, async () => {
        const c = new ResilientClient({ host: '127.0.0.1', port: port as number, heartbeat: HEARTBEAT });
        c.on('error', noop);
        clients.push(c);
        const pong = new Promise((resolve) => c.once('heartbeat', resolve));
        await c.connect();
        await pong;
      }),
    // close(), not destroy(): a BYE ends the session on the server, so no retained session is counted.
    closeAll: async () => {
      for (const s of raws.splice(0)) s.destroy();
      await Promise.all(clients.splice(0).map((c) => c.close()));
    },
  });
  emit('ready');
}

async function main(n: number): Promise<void> {
  const server = new HeartbeatServer({ host: '127.0.0.1', maxConnections: 100_000 });
  const { port } = await server.listen();
  const rawSockets = new Set<net.Socket>();
  const raw = net.createServer((s) => {
    s.on('error', noop);
    rawSockets.add(s);
    s.on('close', () => rawSockets.delete(s));
  });
  raw.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
  await once(raw, 'listening');
  const rawPort = (raw.address() as net.AddressInfo).port;
  const child = startChild(__filename, ['clients'], { ulimitFiles: 65_536 });
  const snaps = new HeapSnapshots('heap-per-conn-server');
  const settle = async (cond: () => boolean, what: string): Promise<void> => {
    if (!(await waitUntil(cond, 60_000))) throw new Error(`timed out: ${what}`);
    await sleep(200);
  };
  try {
    await child.next('ready', 20_000);
    console.log(`N = ${n}, load average ${loadAvg()}`);

    const r0 = await jsAfterGc();
    await child.call('raw', { n, port: rawPort }, 300_000);
    await settle(() => rawSockets.size === n, 'raw accepts');
    const r1 = await jsAfterGc();
    await child.call('closeAll', {}, 120_000);
    await settle(() => rawSockets.size === 0, 'raw closes');

    // Warm-up: one batch through a ping and closed, so the code V8 compiles for the server is not counted per connection.
    await child.call('clients', { n: BATCH, port }, 120_000);
    await child.call('closeAll', {}, 120_000);
    await settle(() => server.socketCount === 0 && server.sessionCount === 0, 'warm-up closes');

    const c0 = await jsAfterGc();
    snaps.take('before');
    await child.call('clients', { n, port }, 300_000);
    await settle(() => server.socketCount === n, 'accepts');
    const c1 = await jsAfterGc();
    snaps.take('after');
    console.log(`raw net.Socket (server side): ${((r1 - r0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection`);
    console.log(`HeartbeatServer: ${((c1 - c0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection (with its session)`);
    snaps.printDiff(0, 1, n, 'connection', TOP);
    await child.call('closeAll', {}, 120_000);
  } finally {
    snaps.dispose();
    await child.stop();
    await server.close();
    raw.close();
  }
}

if (process.argv[2] === 'clients') clientsProcess();
else void main(Number(process.argv[2] ?? 2000)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
