/**
 * Benchmark 5: reconnect storm. 1,000 ResilientClients (in this process)
 * hold connections to a HeartbeatServer in a child process; the server is
 * killed (SIGKILL: the kernel closes its sockets) and a new one listens on the
 * same port a fixed time later. Each client's reconnect attempts and opens
 * are timestamped; connects are counted per 100 ms bucket, per jitter mode.
 *
 *   node --require bench/ts-require.cjs bench/storm.ts server    (listens when told to)
 */
import { performance } from 'node:perf_hooks';
import { ResilientClient } from '../src/client/client';
import type { Jitter } from '../src/core/backoff';
import { HeartbeatServer } from '../src/server';
import { emit, serve, sleep, startChild, waitUntil, withTimeout } from './proc';
import { Section, fmt, median, mmm } from './report';

const JITTERS: Jitter[] = ['full', 'equal', 'decorrelated', 'none'];
const BUCKET_MS = 100;
const CAP_MS = 60_000;

function serverProcess(): void {
  let server: HeartbeatServer | undefined;
  serve({
    listen: async ({ port }) => {
      server = new HeartbeatServer({ host: '127.0.0.1', port: port as number, maxConnections: 20_000 });
      return server.listen();
    },
  });
  emit('ready');
}

interface RunResult {
  /** ms after the kill of each successful reconnect. */
  opens: number[];
  /** ms after the kill of each connection attempt (refused ones included). */
  attempts: number[];
  allBackMs: number;
}

async function oneRun(n: number, jitter: Jitter, downMs: number): Promise<RunResult> {
  const first = startChild(__filename, ['server']);
  const second = startChild(__filename, ['server']);
  const clients: ResilientClient[] = [];
  try {
    await Promise.all([first.next('ready', 20_000), second.next('ready', 20_000)]);
    const { port } = await first.call<{ port: number }>('listen', { port: 0 });
    let t0 = Infinity;
    const opens: number[] = [];
    const attempts: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = new ResilientClient({ host: '127.0.0.1', port, reconnect: { jitter } });
      c.on('error', () => undefined);
      c.on('open', () => {
        if (performance.now() >= t0) opens.push(performance.now() - t0);
      });
      c.on('stateChange', ({ to }) => {
        if (to === 'connecting' && performance.now() >= t0) attempts.push(performance.now() - t0);
      });
      clients.push(c);
    }
    // Connect in batches so the initial connects are not a storm of their own.
    for (let i = 0; i < n; i += 100) await withTimeout(Promise.all(clients.slice(i, i + 100).map((c) => c.connect())), 30_000, 'initial connects');
    t0 = performance.now();
    await first.kill();
    await sleep(Math.max(0, downMs - (performance.now() - t0)));
    await second.call('listen', { port });
    const ok = await waitUntil(() => opens.length >= n, CAP_MS - downMs, 20);
    const allBackMs = ok ? Math.max(...opens) : Infinity;
    return { opens, attempts, allBackMs };
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await first.kill();
    await second.stop();
  }
}

function buckets(times: number[], upToMs: number): number[] {
  const b = new Array<number>(Math.ceil(upToMs / BUCKET_MS) + 1).fill(0);
  for (const t of times) {
    const i = Math.floor(t / BUCKET_MS);
    if (i < b.length) b[i] = (b[i] as number) + 1;
  }
  return b;
}

export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const n = opts.smoke ? 20 : 1000;
  const downMs = opts.smoke ? 200 : 1000;
  const results = new Map<Jitter, RunResult[]>();
  for (const jitter of JITTERS) {
    const rs: RunResult[] = [];
    for (let r = 0; r < opts.runs; r++) rs.push(await oneRun(n, jitter, downMs));
    results.set(jitter, rs);
    opts.log(`storm ${jitter}: all back after ${mmm(rs.map((x) => x.allBackMs))} ms`);
  }
  const horizon = Math.max(...[...results.values()].flat().map((r) => (Number.isFinite(r.allBackMs) ? r.allBackMs : CAP_MS))) + 2 * BUCKET_MS;
  const rows = JITTERS.map((j) => {
    const rs = results.get(j) ?? [];
    const peak = rs.map((r) => Math.max(...buckets(r.opens, horizon)));
    // Mean rate from the restart until the last client is back.
    const mean = rs.map((r) => (r.opens.length * BUCKET_MS) / Math.max(BUCKET_MS, r.allBackMs - downMs));
    const attemptPeak = rs.map((r) => Math.max(...buckets(r.attempts, horizon)));
    const perClient = rs.map((r) => r.attempts.length / n);
    const back = rs.map((r) => r.allBackMs / 1000);
    return [j, mmm(peak), mmm(mean), mmm(peak.map((p, i) => p / (mean[i] as number))), mmm(back, (x) => (Number.isFinite(x) ? `${fmt(x)} s` : '> 60 s')), mmm(attemptPeak), mmm(perClient)];
  });
  // The chart: connects per bucket, averaged over the runs, one curve per jitter mode; its
  // x axis ends a second after the slowest mode's median return (the table has the tails).
  const chartEnd = Math.min(horizon, Math.max(...JITTERS.map((j) => median((results.get(j) ?? []).map((r) => r.allBackMs)))) + 1000);
  const series = JITTERS.map((j) => {
    const rs = (results.get(j) ?? []).map((r) => buckets(r.opens, chartEnd));
    const len = Math.max(...rs.map((b) => b.length));
    const points: Array<[number, number]> = [];
    for (let i = 0; i < len; i++) points.push([(i * BUCKET_MS) / 1000, rs.reduce((s, b) => s + (b[i] ?? 0), 0) / rs.length]);
    return { name: j, points };
  });
  const allBack = (j: Jitter): number => median((results.get(j) ?? []).map((r) => r.allBackMs));
  return {
    id: 'storm',
    title: `5. Reconnect storm (${n.toLocaleString('en-US')} clients, server restarted)`,
    method: `
${n.toLocaleString('en-US')} ResilientClients (default options but \`reconnect.jitter\`: initial delay 500 ms, ×2, cap 30 s; the first retry after a lost connection is immediate) in the benchmark process hold connections to a HeartbeatServer in a child process. At t = 0 the server process is killed (SIGKILL; the kernel closes its sockets, so every client sees the connection end at once); a second server process, started beforehand, listens on the same port at t = ${downMs / 1000} s. A *connect* is a client's \`open\` event (handshake done); an *attempt* is any move to \`connecting\`, refused ones included. Peak and mean are per ${BUCKET_MS} ms bucket; the mean runs from the restart to the last client's return. ${opts.runs} runs per mode; the chart averages each bucket over the runs.
`,
    tables: [
      {
        columns: ['jitter', `peak connects / ${BUCKET_MS} ms`, `mean connects / ${BUCKET_MS} ms`, 'peak / mean', 'all back after (from the kill)', `peak attempts / ${BUCKET_MS} ms`, 'attempts per client'],
        rows,
      },
    ],
    charts: [
      {
        name: 'storm',
        title: `Reconnects per ${BUCKET_MS} ms after a server restart (${n} clients, server back at ${downMs / 1000} s)`,
        xLabel: 'seconds since the server was killed',
        yLabel: `connects per ${BUCKET_MS} ms (mean of runs)`,
        series,
        steps: true,
      },
    ],
    verdicts: [
      {
        target: 'every client back (all jitter modes), no target on time',
        measured: JITTERS.map((j) => `${j} ${fmt(allBack(j) / 1000)} s`).join(', '),
        met: JITTERS.every((j) => Number.isFinite(allBack(j))),
      },
    ],
  };
}

if (require.main === module) {
  if (process.argv[2] === 'server') serverProcess();
  else {
    process.stderr.write('usage: storm.ts server\n');
    process.exit(2);
  }
}
