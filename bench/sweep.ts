/**
 * Benchmark 4: the server's idle sweep. src/server/expiry-list.ts keeps
 * connections ordered by last activity, so a sweep touches only the expired
 * (plus one); the alternative is a full scan of a Map of last-seen times.
 * Simulated clock, real data structures, one process.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ExpiryList, expiryNode, type ExpiryNode } from '../src/server/expiry-list';
import { Section, fmt, median, mmm } from './report';

/** Simulated sweep interval and idle timeout: 1% of the members expire per tick. */
const TICK = 1000;
const TTL = 100 * TICK;

interface Conn {
  id: number;
  node: ExpiryNode<Conn>;
  lastSeen: number;
}

/** N connections in groups of 1%, group g last seen at g * TICK (so group k expires at tick k). */
function population(n: number): Conn[] {
  const per = Math.max(1, Math.floor(n / 100));
  return Array.from({ length: n }, (_, i) => {
    const c = { id: i, lastSeen: Math.floor(i / per) * TICK } as Conn;
    c.node = expiryNode(c, c.lastSeen);
    return c;
  });
}

/** Both structures behind one interface: sweep(now) returns the expired; touch(c, now) re-adds one. */
interface Tracker {
  sweep(now: number): Conn[];
  touch(c: Conn, now: number): void;
}

function expiryTracker(conns: Conn[]): Tracker {
  const list = new ExpiryList<Conn>();
  for (const c of conns) list.touch(c.node, c.lastSeen);
  return { sweep: (now) => list.expire(now, TTL), touch: (c, now) => list.touch(c.node, now) };
}

function mapTracker(conns: Conn[]): Tracker {
  const map = new Map<Conn, number>();
  for (const c of conns) map.set(c, c.lastSeen);
  return {
    sweep: (now) => {
      const cutoff = now - TTL;
      const out: Conn[] = [];
      for (const [c, seen] of map) {
        if (seen <= cutoff) {
          out.push(c);
          map.delete(c);
        }
      }
      return out;
    },
    touch: (c, now) => void map.set(c, now),
  };
}

/** Consumes results so no call can be optimised away. */
export let sink = 0;

/** Median cost of one tick in µs over `ticks` ticks where 1% expire (and come back, as reconnects). */
function tickCost(make: (c: Conn[]) => Tracker, n: number, ticks: number): number {
  const t = make(population(n));
  const costs: number[] = [];
  for (let k = 0; k < ticks; k++) {
    const now = TTL + k * TICK;
    const t0 = process.hrtime.bigint();
    const expired = t.sweep(now);
    costs.push(Number(process.hrtime.bigint() - t0) / 1e3);
    for (const c of expired) t.touch(c, now);
    sink += expired.length;
  }
  return median(costs);
}

/** Cost in µs of a tick with nothing expired: the mean over many calls (bounded by count and ~0.3 s). */
function idleCost(make: (c: Conn[]) => Tracker, n: number): number {
  const t = make(population(n));
  const now = TTL - 1; // group 0 expires at TTL: nothing is due yet
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const budget = 300_000_000n;
  while (calls < 2_000_000) {
    for (let i = 0; i < 100; i++) sink += t.sweep(now).length;
    calls += 100;
    if (process.hrtime.bigint() - t0 > budget) break;
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / calls;
}

/** Event-loop delay (p99, max, ms) while ticking every `intervalMs` for `durationMs`. */
async function loopDelay(make: (c: Conn[]) => Tracker, n: number, intervalMs: number, durationMs: number): Promise<{ p99: number; max: number }> {
  const t = make(population(n));
  const h = monitorEventLoopDelay({ resolution: 1 });
  let k = 0;
  h.enable();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = TTL + k++ * TICK;
      for (const c of t.sweep(now)) t.touch(c, now);
      if (k * intervalMs >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, intervalMs);
  });
  h.disable();
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const sizes = opts.smoke ? [1000, 10_000] : [10_000, 100_000, 1_000_000];
  const main = opts.smoke ? 10_000 : 100_000;
  const ticks = opts.smoke ? 20 : 200;
  const loopMs = opts.smoke ? 300 : 3000;
  const kinds = [
    { name: 'ExpiryList', make: expiryTracker },
    { name: 'Map full scan', make: mapTracker },
  ] as const;
  const idle = new Map<string, number[]>();
  const busy = new Map<string, number[]>();
  const delay = new Map<string, Array<{ p99: number; max: number }>>();
  for (let r = 0; r < opts.runs; r++) {
    for (const k of kinds) {
      for (const n of sizes) {
        const key = `${k.name}/${n}`;
        idle.set(key, [...(idle.get(key) ?? []), idleCost(k.make, n)]);
        busy.set(key, [...(busy.get(key) ?? []), tickCost(k.make, n, n >= 1_000_000 ? Math.min(ticks, 50) : ticks)]);
      }
      const d = await loopDelay(k.make, main, 100, loopMs);
      delay.set(k.name, [...(delay.get(k.name) ?? []), d]);
    }
    opts.log(`sweep run ${r + 1}/${opts.runs}`);
  }
  const us = (x: number): string => (x < 1 ? `${fmt(x * 1000)} ns` : `${fmt(x)} µs`);
  const rows = sizes.flatMap((n) =>
    kinds.map((k) => [k.name, n.toLocaleString('en-US'), mmm(idle.get(`${k.name}/${n}`) ?? [], us), mmm(busy.get(`${k.name}/${n}`) ?? [], us)]),
  );
  const idleMax = Math.max(...sizes.map((n) => median(idle.get(`ExpiryList/${n}`) ?? [])));
  const el = (name: string, f: 'p99' | 'max'): string => mmm((delay.get(name) ?? []).map((d) => d[f]), (x) => `${fmt(x)} ms`);
  const ratio = median(busy.get(`Map full scan/${main}`) ?? []) / median(busy.get(`ExpiryList/${main}`) ?? []);
  return {
    id: 'sweep',
    title: '4. Server sweep (ExpiryList vs a full scan)',
    method: `
One process, a simulated clock, the real \`ExpiryList\` from src/server/expiry-list.ts (what \`HeartbeatServer.sweep()\` calls, once per list) against the obvious alternative, a \`Map\` of last-seen times scanned in full every tick. Connections are in 100 groups of 1% by last activity; each tick expires one group, and the expired come back (re-touched, as reconnects) so every tick finds 1% expired. The timed part is the sweep call alone (\`expire(now, ttl)\` / the scan with its deletes). "1% expiring" is the median over ${ticks} ticks (50 at 1M); "nothing expired" is the mean of a tight loop of calls (up to 2 M or ~0.3 s). Event-loop delay: \`monitorEventLoopDelay\` (1 ms resolution) while a timer sweeps ${main.toLocaleString('en-US')} connections every 100 ms for ${loopMs / 1000} s (the server's default interval is 1000 ms, or a quarter of the shortest timeout; 100 ms makes the cost visible).
`,
    tables: [
      { columns: ['structure', 'connections', 'tick, nothing expired', 'tick, 1% expiring'], rows },
      {
        title: `Event loop while sweeping ${main.toLocaleString('en-US')} connections every 100 ms (1% expiring per tick)`,
        columns: ['structure', 'event-loop delay p99', 'max'],
        rows: kinds.map((k) => [k.name, el(k.name, 'p99'), el(k.name, 'max')]),
      },
    ],
    charts: [
      {
        name: 'sweep',
        title: 'Cost of one sweep tick vs tracked connections',
        xLabel: 'connections tracked',
        yLabel: 'µs per tick (log)',
        logX: true,
        logY: true,
        series: [
          ...kinds.map((k) => ({ name: `${k.name}, 1% expiring`, points: sizes.map((n): [number, number] => [n, median(busy.get(`${k.name}/${n}`) ?? [])]) })),
          ...kinds.map((k) => ({ name: `${k.name}, none`, points: sizes.map((n): [number, number] => [n, median(idle.get(`${k.name}/${n}`) ?? [])]) })),
        ],
      },
    ],
    verdicts: [
      { target: `a tick with nothing expired ≤ 1 µs at ${sizes.map((n) => fmt(n)).join(' / ')}`, measured: `≤ ${us(idleMax)}`, met: idleMax <= 1 },
      { target: `1% expiring at ${main.toLocaleString('en-US')}: cheaper than a full scan`, measured: `${fmt(ratio)}× cheaper`, met: ratio > 1 },
    ],
  };
}
