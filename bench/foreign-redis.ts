/**
 * Benchmark: the codec path against a server that is not ours (issue 11).
 * The Redis example (examples/redis/redis-client.ts: RESP codec, AUTH/SELECT
 * handshake, `PING <token>` heartbeat) with `delivery: 'confirmed'` against a
 * real redis-server started as a child process (bench/real-redis.ts):
 *
 *   1. barrier latency, send → resolve, one SET at a time, 1,000 at once, and
 *      one at a time beside a fire-and-forget stream, as ratios against a raw
 *      RESP client (bench/raw-resp.ts) timed send → reply in the same run;
 *   2. time from a Redis restart to a SET queued during the outage being
 *      applied (its +OK), with the steps on the way.
 *
 * Skipped with the reason when redis-server is not installed.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { redisClient } from '../examples/redis/redis-client';
import type { RespValue } from '../examples/redis/resp-codec';
import type { ResilientClient } from '../src/index';
import { withTimeout } from './proc';
import { RawResp } from './raw-resp';
import { redisBinary, withRedis, type RealServer } from './real-redis';
import { Section, fmt, median, mmm, percentile } from './report';

/** The database the example selects in its handshake; the raw baseline selects it too. */
const DB = 5;
/** Short backoff, so the restart time shows the client's own work more than its waiting (the default initialDelayMs is 500). */
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 500 };
/** The example's default heartbeat; its pings confirm too, but at 1 s they rarely come first. */
const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };
/** The fire-and-forget stream: STREAM_BATCH SETs every STREAM_EVERY_MS (nominally 10,000 a second). */
const STREAM_EVERY_MS = 1;
const STREAM_BATCH = 10;
/** A timed SET every this many stream ticks, so the timed ones meet the stream rather than outrun it. */
const PROBE_EVERY_TICKS = 5;
/** SETs cycle over this many keys, so Redis's memory stays flat. */
const KEYS = 1000;
/** Bound on any one wait (a scenario, a restart): only a broken client or server reaches it. */
const WAIT_MS = 60_000;

const FULL = { warmup: 500, idle: 500, load: 1000, loadRounds: 5, streamed: 200, restarts: 10 };
const SMOKE = { warmup: 5, idle: 10, load: 50, loadRounds: 1, streamed: 10, restarts: 1 };
type Sizes = typeof FULL;

const setCmd = (i: number): RespValue => ['SET', `bench-${i % KEYS}`, 'x'];

/** One side of the comparison: a SET done (raw: replied; ours: confirmed), one fired and forgotten. */
interface Subject {
  set(i: number): Promise<unknown>;
  fire(i: number): void;
  /** Resolves once everything fired is done. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

async function rawSubject(port: number): Promise<Subject> {
  const r = await RawResp.connect(port, DB);
  return { set: (i) => r.command(setCmd(i)), fire: (i) => r.fire(setCmd(i)), drain: () => r.drained(), close: () => r.close() };
}

function confirmedClient(port: number): ResilientClient<RespValue> {
  const c = redisClient({ host: '127.0.0.1', port, db: DB, heartbeat: HEARTBEAT, reconnect: RECONNECT, delivery: 'confirmed' });
  c.on('error', () => undefined);
  return c;
}

async function confirmedSubject(port: number): Promise<Subject> {
  const c = confirmedClient(port);
  await c.connect();
  const fired: Array<Promise<void>> = [];
  return {
    set: (i) => c.send(setCmd(i)),
    fire: (i) => void fired.push(c.send(setCmd(i))),
    drain: async () => void (await Promise.all(fired.splice(0))),
    close: () => c.close(),
  };
}

const KINDS = [
  { name: 'raw RESP (send → reply)', open: rawSubject },
  { name: "confirmed (send → resolve)", open: confirmedSubject },
] as const;

async function oneAtATime(s: Subject, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await s.set(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** `n` SETs sent in one tick, `rounds` times; each timed from the start of its round. */
async function allAtOnce(s: Subject, n: number, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    out.push(...(await Promise.all(Array.from({ length: n }, (_, i) => s.set(i).then(() => performance.now() - t0)))));
  }
  return out;
}

/**
 * A timer fires STREAM_BATCH SETs every STREAM_EVERY_MS on the connection,
 * not awaited; every PROBE_EVERY_TICKS ticks, unless the last one is still
 * out, one more SET is sent right behind that tick's batch and timed. Also
 * returns the stream's achieved rate.
 */
async function besideStream(s: Subject, n: number): Promise<{ ms: number[]; perSecond: number }> {
  const ms: number[] = [];
  let fired = 0;
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      let ticks = 0;
      let probing = false;
      const timer = setInterval(() => {
        for (let i = 0; i < STREAM_BATCH; i++) s.fire(KEYS + fired++);
        if (probing || ++ticks % PROBE_EVERY_TICKS !== 0) return;
        probing = true;
        const sent = performance.now();
        s.set(ticks).then(
          () => {
            ms.push(performance.now() - sent);
            probing = false;
            if (ms.length < n) return;
            clearInterval(timer);
            resolve();
          },
          (err: unknown) => {
            clearInterval(timer);
            reject(err);
          },
        );
      }, STREAM_EVERY_MS);
    });
    return { ms, perSecond: (fired / (performance.now() - t0)) * 1000 };
  } finally {
    await s.drain();
  }
}

const SCENARIOS = ['idle', 'burst', 'stream'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** A scenario's row label and its number of timed SETs per run. */
function scenarioRow(sc: Scenario, sz: Sizes): [string, number] {
  if (sc === 'idle') return ['one at a time (idle)', sz.idle];
  if (sc === 'burst') return [`${fmt(sz.load)} sent at once`, sz.load * sz.loadRounds];
  return ['one at a time beside a fire-and-forget stream', sz.streamed];
}

/** Latencies of one subject in every scenario, and its stream's rate. */
async function latencies(s: Subject, sz: Sizes): Promise<{ ms: Map<Scenario, number[]>; perSecond: number }> {
  await oneAtATime(s, sz.warmup);
  const ms = new Map<Scenario, number[]>();
  ms.set('idle', await oneAtATime(s, sz.idle));
  ms.set('burst', await allAtOnce(s, sz.load, sz.loadRounds));
  const streamed = await besideStream(s, sz.streamed);
  ms.set('stream', streamed.ms);
  return { ms, perSecond: streamed.perSecond };
}

/** ms from the restart command (redis-server spawned) to each step, for one restart. */
interface Restart {
  ready: number;
  open: number;
  applied: number;
  resolved: number;
}

/** Stops Redis, queues a SET on a confirmed client, starts Redis again: `n` times. */
async function restarts(redis: RealServer, n: number): Promise<Restart[]> {
  const c = confirmedClient(redis.port);
  const next = (event: 'close' | 'open' | 'message'): Promise<number> => new Promise((resolve) => c.once(event, () => resolve(performance.now())));
  const out: Restart[] = [];
  try {
    await c.connect();
    for (let i = 0; i < n; i++) {
      const lost = next('close');
      await redis.stop();
      await withTimeout(lost, WAIT_MS, 'client close after redis stopped');
      // The handshake's replies are never emitted: the first message is the queued SET's +OK.
      const steps = Promise.all([next('open'), next('message'), c.send(setCmd(i)).then(() => performance.now())]);
      const t0 = performance.now();
      await redis.start();
      const ready = performance.now() - t0;
      const [open, applied, resolved] = await withTimeout(steps, WAIT_MS, 'queued SET after the restart');
      out.push({ ready, open: open - t0, applied: applied - t0, resolved: resolved - t0 });
    }
  } finally {
    await c.close();
  }
  return out;
}

interface RunData {
  /** Per subject name, per scenario. */
  ms: Map<string, Map<Scenario, number[]>>;
  perSecond: Map<string, number>;
  restarts: Restart[];
}

async function oneRun(redis: RealServer, sz: Sizes, run: number): Promise<RunData> {
  const ms = new Map<string, Map<Scenario, number[]>>();
  const perSecond = new Map<string, number>();
  // Alternate which side goes first, so neither always meets a warmer Redis.
  for (const k of run % 2 === 0 ? KINDS : [...KINDS].reverse()) {
    const s = await k.open(redis.port);
    try {
      const r = await withTimeout(latencies(s, sz), WAIT_MS, `${k.name} latencies`);
      ms.set(k.name, r.ms);
      perSecond.set(k.name, r.perSecond);
    } finally {
      await s.close();
    }
  }
  return { ms, perSecond, restarts: await restarts(redis, sz.restarts) };
}

function redisVersion(binary: string): string {
  try {
    return /v=(\S+)/.exec(execFileSync(binary, ['--version']).toString())?.[1] ?? 'unknown version';
  } catch {
    return 'unknown version';
  }
}

/** The latency table: per scenario, each side's p50 and p99 and ours as a multiple of raw (per run, then median (min–max) over runs). */
function latencyRows(data: readonly RunData[], sz: Sizes): string[][] {
  const [raw, ours] = KINDS.map((k) => k.name) as [string, string];
  const stat = (p: number) => (d: RunData, who: string, sc: Scenario): number => percentile(d.ms.get(who)?.get(sc) ?? [], p);
  const ms = (x: number): string => `${fmt(x)} ms`;
  const times = (x: number): string => `${fmt(x)}×`;
  return SCENARIOS.map((sc) => {
    const cells = [50, 99].flatMap((p) => {
      const f = stat(p);
      return [mmm(data.map((d) => f(d, raw, sc)), ms), mmm(data.map((d) => f(d, ours, sc)), ms), mmm(data.map((d) => f(d, ours, sc) / f(d, raw, sc)), times)];
    });
    const [label, n] = scenarioRow(sc, sz);
    return [label, String(n), ...cells];
  });
}

function restartRows(all: readonly Restart[]): string[][] {
  const steps: Array<[string, (r: Restart) => number]> = [
    ['redis answers PING (its own start-up)', (r) => r.ready],
    ["client 'open' (AUTH/SELECT handshake done)", (r) => r.open],
    ['queued SET applied (its +OK arrives)', (r) => r.applied],
    ["send() resolves ('confirmed': the barrier PING answered)", (r) => r.resolved],
    ["of which 'open' → +OK (the queue's flush behind the handshake)", (r) => r.applied - r.open],
  ];
  return steps.map(([name, of]) => {
    const xs = all.map(of);
    return [name, String(xs.length), `${fmt(median(xs))} ms`, `${fmt(percentile(xs, 99))} ms`, `${fmt(Math.max(...xs))} ms`];
  });
}

export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const base = { id: 'foreign-redis', title: "Confirmed delivery and restart on a real redis-server (codec path)", charts: [], verdicts: [] };
  const found = redisBinary();
  if (found.binary === undefined) return { ...base, method: '', tables: [], skipped: found.skip ?? 'redis-server not found' };
  const binary = found.binary;
  const sz = opts.smoke ? SMOKE : FULL;
  const data = await withRedis(binary, async (redis) => {
    const out: RunData[] = [];
    for (let r = 0; r < opts.runs; r++) {
      out.push(await oneRun(redis, sz, r));
      opts.log(`foreign-redis run ${r + 1}/${opts.runs}`);
    }
    return out;
  });
  const rate = (who: string): string => `${fmt(median(data.map((d) => d.perSecond.get(who) ?? NaN)))}/s`;
  return {
    ...base,
    method: `
One redis-server ${redisVersion(binary)} started for this section as a child process on a free loopback port, with its own temp dir, no persistence (test/support/real-server-specs.ts, as test/real-servers uses), stopped by its PID at the end whatever happens. **Ours**: the Redis example (examples/redis/redis-client.ts: its RESP codec, SELECT ${DB} in the handshake, \`PING <token>\` heartbeat every ${HEARTBEAT.intervalMs} ms) with \`delivery: 'confirmed'\`, timed from \`send(['SET', k, v])\` to its promise resolving, i.e. until the pong of a barrier PING written after the SET arrived. **Baseline**: a raw RESP client in the same run (bench/raw-resp.ts: a plain \`net.Socket\`, the same codec, one write per tick, replies matched in order), timed from writing the same SET to reading its +OK. Each side: ${sz.warmup} SETs of warm-up, then ${sz.idle} SETs one at a time; ${fmt(sz.load)} sent in one tick (${sz.loadRounds} round(s), each timed from the start of its round); ${sz.streamed} one at a time, each sent behind the batch of every ${PROBE_EVERY_TICKS}th tick of a timer that fires ${STREAM_BATCH} SETs every ${STREAM_EVERY_MS} ms on the same connection, not awaited (achieved: raw ${rate(KINDS[0].name)}, ours ${rate(KINDS[1].name)}). The two sides run one after the other, the first alternating between runs. p50 and p99 are taken per run, "× raw" per run, then each cell is the median (min–max) over the ${opts.runs} run(s).

Restart: a confirmed client (reconnect ${RECONNECT.initialDelayMs}–${RECONNECT.maxDelayMs} ms backoff) is connected; Redis is stopped (SIGTERM), the client's \`close\` awaited, one SET queued, and Redis started again on the same port; each step is timed from that start command. ${sz.restarts} restart(s) per run, pooled over the runs.
`,
    tables: [
      {
        title: "Barrier latency: 'confirmed' send → resolve vs a raw RESP round trip",
        columns: ['scenario', 'SETs per run', 'raw p50', 'confirmed p50', 'p50 × raw', 'raw p99', 'confirmed p99', 'p99 × raw'],
        rows: latencyRows(data, sz),
      },
      {
        title: 'Redis restart → a SET queued during the outage applied (from the start command)',
        columns: ['step', 'n', 'median', 'p99', 'max'],
        rows: restartRows(data.flatMap((d) => d.restarts)),
      },
    ],
    notes: [
      'A confirmed send needs one more exchange than the raw reply: the barrier PING written after its batch, which Redis answers after the SET. At most one barrier is in flight (src/core/confirm.ts), so under load a SET written while one is out waits for the next: about two round trips.',
      `The restart time is mostly the client's backoff (${RECONNECT.initialDelayMs} ms, doubling, jittered) meeting Redis's start-up; the last row is what the client adds once connected.`,
    ],
  };
}
