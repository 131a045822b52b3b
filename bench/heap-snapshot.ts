/**
 * What the heap-per-connection benchmarks share (bench/heap-per-client.ts,
 * bench/heap-per-conn-server.ts): JS memory after full GCs, a heap snapshot
 * summed by constructor, and the per-connection difference of two snapshots
 * as a table of top retainers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { sleep, withTimeout } from './proc';
import { median } from './report';

/** Readings of heapUsed + external per measurement; the median is kept. */
const SAMPLES = 5;

/** heapUsed + external after full GCs, the median of SAMPLES readings. */
export async function jsAfterGc(): Promise<number> {
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

type Census = Map<string, { bytes: number; count: number }>;

/** Self size by constructor name in a heap snapshot (node:v8 writeHeapSnapshot format). */
function byConstructor(file: string): Census {
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
  const out: Census = new Map();
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

/** Takes heap snapshots (after a GC) and diffs them; the files are deleted by dispose(). */
export class HeapSnapshots {
  private readonly files: string[] = [];

  constructor(private readonly prefix: string) {}

  /** Writes a snapshot of this process's heap now; returns its index. */
  take(tag: string): number {
    (globalThis as { gc?: () => void }).gc?.();
    this.files.push(v8.writeHeapSnapshot(path.join(os.tmpdir(), `${this.prefix}-${process.pid}-${tag}.heapsnapshot`)));
    return this.files.length - 1;
  }

  /** Prints the `top` constructors that grew most from snapshot `a` to `b`, per `per` (`unit`: what one is). */
  printDiff(a: number, b: number, per: number, unit: string, top: number): void {
    const before = byConstructor(this.files[a] as string);
    const after = byConstructor(this.files[b] as string);
    const rows = [...after].map(([name, x]) => {
      const y = before.get(name) ?? { bytes: 0, count: 0 };
      return { name, bytes: (x.bytes - y.bytes) / per, count: (x.count - y.count) / per };
    });
    rows.sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`\nSnapshot diff, self size per ${unit} by constructor (total ${total.toFixed(0)} B):\n`);
    console.log(`| constructor | B per ${unit} | objects per ${unit} |\n| --- | --- | --- |`);
    for (const r of rows.slice(0, top)) console.log(`| ${r.name} | ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} |`);
  }

  dispose(): void {
    for (const f of this.files.splice(0)) fs.rmSync(f, { force: true });
  }
}

/** Runs `open` n times, `batch` at a time (each batch within 120 s). */
export async function openInBatches(n: number, batch: number, open: () => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const k = Math.min(batch, n - i);
    await withTimeout(Promise.all(Array.from({ length: k }, open)), 120_000, 'connect batch');
  }
}
