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
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { ResilientClient } from '../src/client/client';
import { HeartbeatServer } from '../src/server';
import { emit, serve, sleep, startChild, withTimeout } from './proc';
import { loadAvg, median } from './report';

const BATCH = 200;
const SAMPLES = 5;
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

/** heapUsed + external after full GCs, the median of SAMPLES readings. */
async function jsAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const js: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    gc();
    gc();
    await sleep(20);
    const m = process.memoryUsage();
    js.push(m.heapUsed + m.external);
  }
  return median(js);
}

/** Self size by constructor name in a heap snapshot (node:v8 writeHeapSnapshot format). */
function byConstructor(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const iEdges = fields.indexOf('edge_count');
  const edgeWidth = meta.edge_fields.length;
  const iEdgeType = meta.edge_fields.indexOf('type');
  const iEdgeName = meta.edge_fields.indexOf('name_or_index');
  const propertyEdge = meta.edge_types[0].indexOf('property');
  const out = new Map<string, { bytes: number; count: number }>();
  let edge = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] as number] as string;
    const edges = snap.nodes[i + iEdges] as number;
    let name = type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${snap.strings[snap.nodes[i + iName] as number]}` : `(${type})`;
    if (name === 'Object') {
      // A plain object is named by its first properties, so the table says which one it is.
      const props: string[] = [];
      for (let e = edge; e < edge + edges * edgeWidth && props.length < 4; e += edgeWidth) {
        if (snap.edges[e + iEdgeType] === propertyEdge) props.push(snap.strings[snap.edges[e + iEdgeName] as number] as string);
      }
      name = `Object {${props.join(', ')}}`;
    }
    edge += edges * edgeWidth;
    const row = out.get(name) ?? { bytes: 0, count: 0 };
    row.bytes += snap.nodes[i + iSize] as number;
    row.count++;
    out.set(name, row);
  }
  return out;
}

function snapshot(tag: string): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return v8.writeHeapSnapshot(path.join(os.tmpdir(), `heap-per-client-${process.pid}-${tag}.heapsnapshot`));
}

async function openInBatches(n: number, open: () => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += BATCH) {
    const k = Math.min(BATCH, n - i);
    await withTimeout(Promise.all(Array.from({ length: k }, open)), 120_000, 'connect batch');
  }
}

async function main(n: number): Promise<void> {
  const srv = startChild(__filename, ['server'], { ulimitFiles: 65_536, nodeArgs: ['--expose-gc'] });
  const files: string[] = [];
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
      c.on('error', () => undefined);
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
    files.push(snapshot('before'));
    await openInBatches(n, open);
    await firstPongs();
    await sleep(500);
    const c1 = await jsAfterGc();
    files.push(snapshot('after'));
    console.log(`raw net.Socket: ${((r1 - r0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection`);
    console.log(`ResilientClient: ${((c1 - c0) / n / 1024).toFixed(2)} KiB JS heap (used + external) per connection`);

    const before = byConstructor(files[0] as string);
    const after = byConstructor(files[1] as string);
    const rows = [...after].map(([name, a]) => {
      const b = before.get(name) ?? { bytes: 0, count: 0 };
      return { name, bytes: (a.bytes - b.bytes) / n, count: (a.count - b.count) / n };
    });
    rows.sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`\nSnapshot diff, self size per client by constructor (total ${total.toFixed(0)} B):\n`);
    console.log('| constructor | B per client | objects per client |\n| --- | --- | --- |');
    for (const r of rows.slice(0, TOP)) console.log(`| ${r.name} | ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} |`);
    await Promise.all(clients.map((c) => c.destroy()));
  } finally {
    for (const f of files) fs.rmSync(f, { force: true });
    await srv.stop();
  }
}

if (process.argv[2] === 'server') void serverProcess();
else void main(Number(process.argv[2] ?? 2000)).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
