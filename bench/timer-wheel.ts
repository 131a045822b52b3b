/**
 * Micro-benchmark: re-arming 10,000 deadlines, 100 times each (as a heartbeat
 * re-arms on every received frame), on src/io/timer-wheel.ts against one Node
 * timer per deadline, re-armed with `timeout.refresh()` or with clearTimeout +
 * setTimeout. Reports ns per re-arm, the ratio to refresh(), and heap growth
 * per re-arm with the number of GCs in the loop (the wheel reads
 * performance.now() per re-arm, whose double result V8 may box: the integer
 * clock case shows the wheel's own share). Not part of bench/run.ts:
 *
 *   npx tsx bench/timer-wheel.ts
 *
 * Timings on a shared machine move with its load (printed with the results).
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TimerWheel, WheelEntry } from '../src/io/timer-wheel';

const N = 10_000;
const ROUNDS = 100;
const TRIALS = 5;
/** A heartbeat-like delay (the default interval, src/core/heartbeat.ts): nothing fires during the benchmark. */
const DELAY_MS = 5_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const noop = (): void => {};

interface Case {
  name: string;
  setup(): void;
  /** One round: every deadline re-armed once. */
  round(r: number): void;
  teardown(): void;
}

/** An integer clock moved by 1 ms per round: isolates the wheel's own work from the cost of reading performance.now(). */
let roundClock = 0;

function wheelCase(name: string, delay: (r: number) => number, now?: () => number, readOncePerRound = false): Case {
  let wheel: TimerWheel;
  let entries: WheelEntry[] = [];
  return {
    name,
    setup() {
      wheel = new TimerWheel(now ? { now } : {});
      entries = Array.from({ length: N }, () => new WheelEntry(noop));
      for (const e of entries) wheel.schedule(e, DELAY_MS);
    },
    round(r) {
      roundClock++;
      const d = delay(r);
      if (readOncePerRound) {
        const t = wheel.now();
        for (let i = 0; i < N; i++) wheel.reschedule(entries[i] as WheelEntry, d, t);
      } else for (let i = 0; i < N; i++) wheel.reschedule(entries[i] as WheelEntry, d);
    },
    teardown() {
      for (const e of entries) wheel.cancel(e);
    },
  };
}

function nodeCase(name: string, rearm: (timers: NodeJS.Timeout[], i: number) => void): Case {
  let timers: NodeJS.Timeout[] = [];
  return {
    name,
    setup() {
      timers = Array.from({ length: N }, () => setTimeout(noop, DELAY_MS).unref());
    },
    round() {
      for (let i = 0; i < N; i++) rearm(timers, i);
    },
    teardown() {
      for (const t of timers) clearTimeout(t);
    },
  };
}

const CASES: Case[] = [
  // Frames arrive faster than a tick: the deadline moves within its tick (two field writes).
  wheelCase('wheel, same tick', () => DELAY_MS),
  // Every re-arm moves the entry to another bucket (unlink + link).
  wheelCase('wheel, new bucket', (r) => DELAY_MS + (r % 2) * 1_000),
  wheelCase('wheel, same tick, integer clock', () => DELAY_MS, () => roundClock),
  // The wiring's case: one clock read per socket read, passed to every re-arm it causes.
  wheelCase('wheel, one clock read per round', () => DELAY_MS, undefined, true),
  nodeCase('timeout.refresh()', (t, i) => (t[i] as NodeJS.Timeout).refresh()),
  nodeCase('clearTimeout + setTimeout', (t, i) => {
    clearTimeout(t[i]);
    t[i] = setTimeout(noop, DELAY_MS).unref();
  }),
];

function timeNsPerOp(c: Case): number {
  c.setup();
  c.round(1); // warm-up
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) c.round(r);
  const ns = Number(process.hrtime.bigint() - t0) / (N * ROUNDS);
  c.teardown();
  return ns;
}

/** Heap growth per re-arm over N × ROUNDS re-arms after a full GC, and the GCs that ran meanwhile. */
async function heapPerOp(c: Case): Promise<{ bytes: number; gcs: number }> {
  c.setup();
  c.round(1);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  gc();
  obs.observe({ entryTypes: ['gc'] });
  const h0 = process.memoryUsage().heapUsed;
  for (let r = 0; r < ROUNDS; r++) c.round(r);
  const h1 = process.memoryUsage().heapUsed;
  await new Promise((r) => setTimeout(r, 200)); // GC entries are delivered asynchronously
  obs.disconnect();
  c.teardown();
  return { bytes: (h1 - h0) / (N * ROUNDS), gcs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  console.log(`re-arming ${N} deadlines x ${ROUNDS} rounds, median of ${TRIALS} trials; node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const ns = new Map<string, number[]>();
  for (let t = 0; t < TRIALS; t++) for (const c of CASES) ns.set(c.name, [...(ns.get(c.name) ?? []), timeNsPerOp(c)]);
  const base = median(ns.get('timeout.refresh()')!);
  console.log('| method | ns per re-arm | × timeout.refresh() | heap bytes per re-arm | GCs in 1M re-arms |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const c of CASES) {
    const m = median(ns.get(c.name)!);
    const h = await heapPerOp(c);
    console.log(`| ${c.name} | ${m.toFixed(1)} | ${(m / base).toFixed(1)}× | ${h.bytes.toFixed(1)} | ${h.gcs} |`);
  }
}

void main();
