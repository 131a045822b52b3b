/**
 * Benchmark 3: scale of one process. N ResilientClients (heartbeat 1 s) in
 * one process against one HeartbeatServer in another, versus N raw idle
 * net.Sockets against a raw net.Server, and versus N raw sockets doing the
 * same ping/pong traffic with the least possible code (the floor of a
 * heartbeat over TCP). Both sides are measured: RSS per connection (the slope
 * between N/2 and N open, after GC), CPU seconds per second and event-loop
 * delay over a window.
 *
 *   node --expose-gc --require bench/ts-require.cjs bench/scale.ts server <rc|raw|ping>
 *   node --expose-gc --require bench/ts-require.cjs bench/scale.ts clients <rc|raw|ping>
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import * as net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { ResilientClient } from '../src/client/client';
import { FrameType, encodePing } from '../src/protocol';
import { HeartbeatServer } from '../src/server';
import { emit, serve, sleep, startChild, withTimeout } from './proc';
import { Section, fmt, loadAvg, median, mmm } from './report';

type Kind = 'rc' | 'raw' | 'ping' | 'ping-spread' | 'mqtt' | 'rnet';
const KINDS: Kind[] = ['raw', 'ping', 'ping-spread', 'rc', 'mqtt', 'rnet'];
const LABEL: Record<Kind, string> = {
  raw: 'raw idle net.Socket → net.Server',
  ping: 'raw ping/pong floor, timers in bursts',
  'ping-spread': 'raw ping/pong floor, timers spread',
  rc: 'ResilientClient → HeartbeatServer',
  mqtt: 'mqtt.js (keepalive 1 s) → aedes',
  rnet: 'reconnect-net (no heartbeat) → net.Server',
};
const SHORT: Record<Kind, string> = {
  rc: 'ResilientClient',
  ping: 'floor, bursts',
  'ping-spread': 'floor, spread',
  raw: 'raw idle',
  mqtt: 'mqtt.js + aedes',
  rnet: 'reconnect-net',
};
/** Kinds that exchange a keepalive every interval (the others hold idle sockets). */
const pinging = (k: Kind): boolean => k !== 'raw' && k !== 'rnet';
/**
 * Node flags of every helper process. The young generation is pinned to one
 * size: V8 otherwise grows it with the allocation rate (up to 3 × 16 MiB),
 * which rises with the number of pinging connections and with CPU contention,
 * and that growth showed up as "memory per connection" (the slope doubled on a
 * loaded machine). Pinned, it is a constant and cancels out of the slope.
 */
const NODE_ARGS = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
/** Memory samples per reading (each after full GCs); the median is kept. */
const MEM_SAMPLES = 5;
const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };
/** The CPU window of a cell, ms (BENCH_SCALE_WINDOW_MS overrides it for every cell, e.g. to profile one). */
const WINDOW_MS = Number(process.env.BENCH_SCALE_WINDOW_MS) || 3000;
/**
 * Pings a CPU window holds at least (BENCH_SCALE_MIN_PINGS overrides it): at
 * small N the window grows until it does (15 s at N = 1,000). At N = 1,000 a
 * 7.5 s window (≈ 7,500 pings) with the delay monitor in it read the
 * ResilientClient cell at 41.9–61.4 µs over five runs and the floor at
 * 20–41 µs; a 15 s window without the monitor, runs round-robin, read them at
 * 56.6–67.2 and 54.5–65.6 µs net (4 runs, load 2.5–6.9, 2026-12-04), then
 * 58.3–75.8 and 51.2–71.2 (3 runs, load 1.6–2.3): 1.01× and 0.97× the floor.
 * Most of that came from taking the monitor out: at 7,500 pings (7.5 s) the
 * cells read 41.6–57.1 and 38.9–54.6 µs (4 runs, load 0.8–3.1), 1.03×, for
 * 37.5 s less per kind at N = 1,000 in a full run (7.5 s × 5 runs).
 */
const MIN_PINGS = Number(process.env.BENCH_SCALE_MIN_PINGS) || 15_000;
/** The event-loop delay window, ms: a window of its own, after the CPU window (see oneRun). */
const DELAY_WINDOW_MS = 2000;

/**
 * The CPU window of one cell: long enough for MIN_PINGS pings at N clients
 * (every kind that reads CPU: the pinging ones and raw idle, which they are
 * read net of; not reconnect-net, which never pings).
 */
function windowFor(kind: Kind, n: number, windowMs: number): number {
  const readsCpu = pinging(kind) || kind === 'raw';
  if (process.env.BENCH_SCALE_WINDOW_MS || windowMs !== WINDOW_MS || !readsCpu) return windowMs;
  return Math.max(windowMs, Math.ceil((MIN_PINGS / n) * HEARTBEAT.intervalMs));
}
const BATCH = 200;
const FILES = 65_536;

/** BENCH_WINDOW_PROF=<dir>: a V8 CPU profile of the measurement window only (steady state, no connects). */
function profileWindow(tag: string): () => Promise<void> {
  const dir = process.env.BENCH_WINDOW_PROF;
  if (!dir) return async () => undefined;
  const session = new inspector.Session();
  session.connect();
  const post = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  const started = post('Profiler.enable').then(() => post('Profiler.start'));
  return async () => {
    await started;
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `window-${tag}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * CPU of this process over `ms`, or (with `delay`) its event-loop delay. Never
 * both at once: the delay monitor wakes the loop every millisecond, which in
 * the session-7 runs cost each process about 3 % of a core at N = 1,000 (as
 * much as 1,000 pings), and the CPU per ping was read net of that, so the
 * monitor's own swing (2.6–3.7 %) moved the cell by more than the gap to the
 * target.
 */
async function window(ms: number, tag: string, delay: boolean): Promise<{ cpuPerSec: number; p99: number; max: number; secs: number }> {
  const stopProfile = delay ? async () => undefined : profileWindow(tag);
  const h = delay ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  h?.enable();
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const u = process.cpuUsage(u0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  h?.disable();
  await stopProfile();
  return { cpuPerSec: (u.user + u.system) / 1e6 / secs, p99: h ? h.percentile(99) / 1e6 : NaN, max: h ? h.max / 1e6 : NaN, secs };
}

/** RSS and JS memory (heap used + external): the median of several readings, each after full garbage collections. */
async function memAfterGc(): Promise<{ rss: number; js: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const rss: number[] = [];
  const js: number[] = [];
  for (let i = 0; i < MEM_SAMPLES; i++) {
    gc?.();
    gc?.();
    await sleep(50);
    const m = process.memoryUsage();
    rss.push(m.rss);
    js.push(m.heapUsed + m.external);
  }
  return { rss: median(rss), js: median(js) };
}

async function serverProcess(kind: Kind): Promise<void> {
  let port: number;
  if (kind === 'rc') {
    const server = new HeartbeatServer({ host: '127.0.0.1', maxConnections: 100_000 });
    port = (await server.listen()).port;
  } else if (kind === 'mqtt') {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker();
    const server = net.createServer((s) => void broker.handle(s));
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  } else {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
      if (kind === 'ping' || kind === 'ping-spread') {
        s.setNoDelay(true);
        // A PONG is the PING with its type byte changed (protocol.md); echo it.
        s.on('data', (c: Buffer) => {
          if (c.length > 4) c[4] = FrameType.PONG;
          s.write(c);
        });
      }
    });
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 });
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  }
  serve({ window: ({ ms, delay }) => window(ms as number, `server-${kind}`, delay === true), mem: () => memAfterGc() });
  emit('ready', { port });
}

function clientsProcess(kind: Kind): void {
  const rcs: ResilientClient[] = [];
  const mqtts: MqttClient[] = [];
  const rnets: Array<{ disconnect(): void }> = [];
  const raws: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let pongs = 0;
  let counting = false;
  const onPong = (): void => void pongs++;
  const openOne = async (port: number): Promise<void> => {
    if (kind === 'rc') {
      const c = new ResilientClient({ host: '127.0.0.1', port, heartbeat: HEARTBEAT });
      c.on('error', () => undefined);
      rcs.push(c);
      await c.connect();
    } else if (kind === 'mqtt') {
      // keepalive is in seconds; reconnectPeriod as a reconnecting client would have it.
      const m = mqttConnect(`mqtt://127.0.0.1:${port}`, { keepalive: HEARTBEAT.intervalMs / 1000, reconnectPeriod: 1000, connectTimeout: 30_000 });
      m.on('error', () => undefined);
      m.on('packetreceive', (p) => counting && p.cmd === 'pingresp' && pongs++);
      mqtts.push(m);
      await new Promise<void>((resolve) => m.once('connect', () => resolve()));
    } else if (kind === 'rnet') {
      // reconnect-net ships no types: reconnect(onConnect).connect(port, host) -> emitter.
      const reconnect = require('reconnect-net') as (onConnect: (con: net.Socket) => void) => {
        connect(port: number, host: string): NodeJS.EventEmitter & { disconnect(): void };
      };
      await new Promise<void>((resolve) => {
        const re = reconnect((con) => {
          con.on('error', () => undefined);
          resolve();
        }).connect(port, '127.0.0.1');
        re.on('error', () => undefined);
        rnets.push(re);
      });
    } else {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      raws.push(s);
      await once(s, 'connect');
      if (kind === 'ping' || kind === 'ping-spread') {
        s.setNoDelay(true);
        let seq = 0;
        s.on('data', () => counting && pongs++);
        const start = (): void => void timers.push(setInterval(() => s.write(encodePing(FrameType.PING, { seq: seq++, sentAt: Date.now() })), HEARTBEAT.intervalMs));
        // 'ping': every socket's timer starts at its connect (200 at once), so writes come in bursts;
        // 'ping-spread': each starts at a random point of the interval, as clients that connect at random times.
        if (kind === 'ping-spread') timers.push(setTimeout(start, Math.random() * HEARTBEAT.intervalMs));
        else start();
      }
    }
  };
  serve({
    connect: async ({ n, port }) => {
      for (let i = 0; i < (n as number); i += BATCH) {
        const k = Math.min(BATCH, (n as number) - i);
        await withTimeout(Promise.all(Array.from({ length: k }, () => openOne(port as number))), 120_000, 'connect batch');
      }
      return {};
    },
    closeAll: async () => {
      await Promise.all(rcs.splice(0).map((c) => c.destroy()));
      await Promise.all(mqtts.splice(0).map((m) => new Promise<void>((r) => m.end(true, {}, () => r()))));
      for (const re of rnets.splice(0)) re.disconnect();
      for (const t of timers.splice(0)) clearTimeout(t);
      for (const s of raws.splice(0)) s.destroy();
      return {};
    },
    window: async ({ ms, delay }) => {
      // Count pongs only inside the window; the listeners are gone before RSS is read.
      pongs = 0;
      counting = true;
      for (const c of rcs) c.on('heartbeat', onPong);
      const w = await window(ms as number, `clients-${kind}`, delay === true);
      for (const c of rcs) c.off('heartbeat', onPong);
      counting = false;
      return { ...w, pongs };
    },
    mem: () => memAfterGc(),
  });
  emit('ready');
}

interface Side {
  rssPerConn: number;
  jsPerConn: number;
  cpuPerSec: number;
  p99: number;
  max: number;
}
interface RunResult {
  client: Side;
  server: Side;
  pingsPerSec: number;
}

async function oneRun(kind: Kind, n: number, windowMs: number, delayMs: number, settleMs: number): Promise<RunResult> {
  const opts = { ulimitFiles: FILES, nodeArgs: NODE_ARGS };
  const srv = startChild(__filename, ['server', kind], opts);
  const cli = startChild(__filename, ['clients', kind], opts);
  type Mem = { rss: number; js: number };
  const mem = (): Promise<[Mem, Mem]> => Promise.all([srv.call<Mem>('mem'), cli.call<Mem>('mem')]);
  try {
    const [{ port }] = await Promise.all([srv.next<{ port: number }>('ready', 20_000), cli.next('ready', 20_000)]);
    // Memory per connection is the least-squares slope over four points (N/4 …
    // N open), each read after GC in the same steady state (heartbeats
    // running), so fixed costs cancel and heap-sizing noise averages out.
    const xs: number[] = [];
    const srvMem: Mem[] = [];
    const cliMem: Mem[] = [];
    let open = 0;
    for (let q = 1; q <= 4; q++) {
      const target = Math.round((n * q) / 4);
      await cli.call('connect', { n: target - open, port }, 300_000);
      open = target;
      await sleep(q === 4 ? 2 * settleMs : settleMs); // every new client has pinged at least once
      if (q === 4) break;
      const [sm, cm] = await mem();
      xs.push(open);
      srvMem.push(sm);
      cliMem.push(cm);
    }
    type W = { cpuPerSec: number; p99: number; max: number; secs: number };
    // CPU first, with no delay monitor in either process; then the event-loop delay over a window of its own.
    const [sw, cw] = await Promise.all([srv.call<W>('window', { ms: windowMs }), cli.call<W & { pongs: number }>('window', { ms: windowMs })]);
    const [sd, cd] = await Promise.all([srv.call<W>('window', { ms: delayMs, delay: true }), cli.call<W>('window', { ms: delayMs, delay: true })]);
    const [s4, c4] = await mem();
    xs.push(open);
    srvMem.push(s4);
    cliMem.push(c4);
    const per = (ms: Mem[]): { rssPerConn: number; jsPerConn: number } => ({
      rssPerConn: slope(xs, ms.map((m) => m.rss)),
      jsPerConn: slope(xs, ms.map((m) => m.js)),
    });
    const side = (w: W, d: W): Pick<Side, 'cpuPerSec' | 'p99' | 'max'> => ({ cpuPerSec: w.cpuPerSec, p99: d.p99, max: d.max });
    return { client: { ...per(cliMem), ...side(cw, cd) }, server: { ...per(srvMem), ...side(sw, sd) }, pingsPerSec: cw.pongs / cw.secs };
  } finally {
    // Clients first: their side keeps the TIME_WAIT sockets, which loopback reuses (tcp_tw_reuse).
    await cli.stop(10_000);
    await srv.stop(10_000);
  }
}

/** Least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? NaN : num / den;
}

/** The open-file limit the helper processes get (the hard limit may be lower than FILES without CAP_SYS_RESOURCE). */
function filesLimit(): string {
  try {
    return execFileSync('bash', ['-c', `ulimit -n ${FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; ulimit -n`]).toString().trim();
  } catch {
    return 'unknown';
  }
}

export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const files = filesLimit();
  // BENCH_SCALE_N=10000 / BENCH_SCALE_KINDS=rc: one cell only, e.g. to profile it (BENCH_CPU_PROF).
  const sizes = process.env.BENCH_SCALE_N?.split(',').map(Number) ?? (opts.smoke ? [50] : [1000, 5000, 10_000]);
  const kinds = (process.env.BENCH_SCALE_KINDS?.split(',') as Kind[] | undefined) ?? KINDS;
  const windowMs = opts.smoke ? 500 : WINDOW_MS;
  const res = new Map<string, RunResult[]>();
  const delayMs = opts.smoke ? 500 : DELAY_WINDOW_MS;
  const perPingOf = (r: RunResult): number => ((r.client.cpuPerSec + r.server.cpuPerSec) / r.pingsPerSec) * 1e6;
  for (const n of sizes) {
    // Round-robin: each run takes every kind once, so a change in the machine's load hits the floor and ours alike.
    for (let r = 0; r < opts.runs; r++) {
      for (const kind of kinds) {
        const x = await oneRun(kind, n, windowFor(kind, n, windowMs), delayMs, opts.smoke ? 250 : 1000);
        res.set(`${kind}/${n}`, [...(res.get(`${kind}/${n}`) ?? []), x]);
        const cpu = `CPU ${fmt((x.client.cpuPerSec + x.server.cpuPerSec) * 100)}%`;
        opts.log(`scale ${kind} ${n} run ${r + 1}: ${pinging(kind) ? `${cpu}, ${fmt(perPingOf(x))} µs per ping all-in` : cpu} (load average ${loadAvg()})`);
      }
    }
    for (const kind of kinds) opts.log(`scale ${kind} ${n}: client RSS/conn ${fmt(median((res.get(`${kind}/${n}`) ?? []).map((x) => x.client.rssPerConn)))} B`);
  }
  const get = (k: Kind, n: number): RunResult[] => res.get(`${k}/${n}`) ?? [];
  const med = (k: Kind, n: number, f: (r: RunResult) => number): number => median(get(k, n).map(f));
  const kb = (x: number): string => `${fmt(x / 1024)} KiB`;
  const ms = (x: number): string => `${fmt(x)} ms`;
  const pct = (x: number): string => `${fmt(x * 100)}%`;
  const us = (x: number): string => `${fmt(x)} µs`;
  const both = (r: RunResult): number => r.client.cpuPerSec + r.server.cpuPerSec;
  /** All-in CPU per ping in µs: both processes' CPU in the window over the pongs received in it. */
  const perPing = (r: RunResult): number => (both(r) / r.pingsPerSec) * 1e6;
  /** The same, less what the processes burn with idle sockets (mostly the 1 ms event-loop monitor). */
  const netPerPing = (n: number) => (r: RunResult): number => ((both(r) - med('raw', n, both)) / r.pingsPerSec) * 1e6;
  const memRows = sizes.flatMap((n) =>
    kinds.map((k) => {
      const rs = get(k, n);
      return [LABEL[k], fmt(n), mmm(rs.map((r) => r.client.rssPerConn), kb), mmm(rs.map((r) => r.client.jsPerConn), kb), mmm(rs.map((r) => r.server.rssPerConn), kb), mmm(rs.map((r) => r.server.jsPerConn), kb)];
    }),
  );
  const cpuRows = sizes.flatMap((n) =>
    kinds.map((k) => {
      const rs = get(k, n);
      const pings = pinging(k);
      return [
        LABEL[k],
        fmt(n),
        pings ? mmm(rs.map((r) => r.pingsPerSec)) : '—',
        mmm(rs.map((r) => r.client.cpuPerSec), pct),
        mmm(rs.map((r) => r.server.cpuPerSec), pct),
        mmm(rs.map((r) => r.client.p99), ms),
        mmm(rs.map((r) => r.server.p99), ms),
        pings ? mmm(rs.map(perPing), us) : '—',
        pings ? mmm(rs.map(netPerPing(n)), us) : '—',
      ];
    }),
  );
  const big = sizes[sizes.length - 1] as number;
  const rssRatio = (n: number, side: 'client' | 'server'): number => med('rc', n, (r) => r[side].rssPerConn) / med('raw', n, (r) => r[side].rssPerConn);
  /** A raw socket's RSS slope under 1 KiB is inside RSS's own noise: no ratio is read from it. */
  const clean = (n: number, side: 'client' | 'server'): boolean => med('raw', n, (r) => r[side].rssPerConn) >= 1024;
  const ratioText = (side: 'client' | 'server'): string =>
    sizes.map((n) => (clean(n, side) ? `${fmt(rssRatio(n, side))}×` : 'n/a (raw slope < 1 KiB: noise)')).join(', ');
  const judged = sizes.filter((n) => clean(n, 'client'));
  const worstRatio = Math.max(...judged.map((n) => rssRatio(n, 'client')));
  const serverJudged = sizes.filter((n) => clean(n, 'server'));
  const worstServer = Math.max(...serverJudged.map((n) => rssRatio(n, 'server')));
  // The verdict reads the heartbeat's own cost: net of what the same processes burn with idle sockets.
  // The worst N by ratio; its own two figures name it (not each kind's maximum over N).
  const cpuRatioAt = (n: number): number => med('rc', n, netPerPing(n)) / med('ping', n, netPerPing(n));
  const worstCpuN = sizes.reduce((a, n) => (cpuRatioAt(n) > cpuRatioAt(a) ? n : a));
  const cpuRatio = cpuRatioAt(worstCpuN);
  const ping = med('rc', worstCpuN, netPerPing(worstCpuN));
  const floor = med('ping', worstCpuN, netPerPing(worstCpuN));
  const floorSpread = med('ping-spread', worstCpuN, netPerPing(worstCpuN));
  const jsWorst = Math.max(...sizes.map((n) => med('rc', n, (r) => r.client.jsPerConn)));
  const jsRaw = Math.max(...sizes.map((n) => med('raw', n, (r) => r.client.jsPerConn)));
  const p99 = Math.max(med('rc', big, (r) => r.client.p99), med('rc', big, (r) => r.server.p99));
  return {
    id: 'scale',
    title: '3. Scale of one process (N clients, heartbeat 1 s)',
    method: `
For each N and kind, fresh processes: the N clients in one, the server in another, both started as \`bash -c 'ulimit -n ${FILES}; exec node --expose-gc …'\` (where the hard limit is lower and CAP_SYS_RESOURCE is missing, as here, the hard limit: ${files} open files per process, enough for ${fmt(big)} connections on each side). Kinds:

- **ResilientClient** (heartbeat ${HEARTBEAT.intervalMs} ms / ${HEARTBEAT.timeoutMs} ms, otherwise defaults) → **HeartbeatServer** (\`maxConnections\` raised).
- **raw idle**: \`net.Socket\`s that send nothing → a plain \`net.Server\`: the memory baseline.
- **raw ping/pong floor**: \`net.Socket\`s with \`setNoDelay\`, each with a \`setInterval\` writing the same 17-byte PING frame every ${HEARTBEAT.intervalMs} ms, to a \`net.Server\` that writes each chunk back as the PONG: the same packets with the least code, i.e. what the kernel and libuv cost per heartbeat on this machine. *In bursts*: each timer starts when its socket connects (${BATCH} connect at once), so pings leave in bursts, as ResilientClient's do at first; *spread*: each timer starts at a random point of the interval, as for clients that connect at random times. The difference between the two is the price of one event-loop wake-up and a cold syscall path per ping.
- Peers, in the same processes and tables: **mqtt.js** (\`keepalive: ${HEARTBEAT.intervalMs / 1000}\` s, its PINGREQ/PINGRESP; pongs counted from \`packetreceive\`) → an **aedes** broker, and **reconnect-net** (a reconnecting wrapper around \`net.Socket\` with no heartbeat of its own, so memory only) → a plain \`net.Server\`.

Every helper process runs with \`${NODE_ARGS.join(' ')}\`: a young generation of one fixed size, so V8 cannot grow it with the allocation rate (it did, with the number of pinging connections and with CPU load, and the growth read as memory per connection). Each memory reading is the median of ${MEM_SAMPLES} readings, each after two full GCs. Clients connect ${BATCH} at a time. Memory per connection is the least-squares slope of memory after GC against connections open, read at N/4, N/2, 3N/4 and N in the same steady state (heartbeats running), so fixed costs cancel; *JS* is V8 heap used + external. RSS moves by a few MB on its own (heap sizing, malloc), so at N = 1,000 its slope is noise-prone: read the largest N. After the last quarter has run 2 s, a CPU window measures each process's CPU (\`process.cpuUsage\`) and counts the pongs on the clients: ${windowMs / 1000} s, or long enough for ${fmt(MIN_PINGS)} pings where N is smaller (${fmt(windowFor('ping', sizes[0] as number, windowMs) / 1000)} s at N = ${fmt(sizes[0] as number)}; not for reconnect-net, which never pings), with nothing else running in the processes. Then a window of its own (${delayMs / 1000} s) measures the event-loop delay (\`monitorEventLoopDelay\`, 1 ms resolution): that monitor wakes each loop every millisecond, which cost about as much CPU as 1,000 pings, so with it in the CPU window the cell at N = 1,000 read mostly the monitor and swung with it. The runs go round-robin across the kinds (each run takes every kind once), so a change in the machine's load hits the floor and ours alike. *CPU per ping, all-in* = (client + server CPU seconds in the window) / pongs received in it: timers, both sides' syscalls, codec, the pong. *Net* subtracts the raw idle kind's CPU (what the processes burn with idle sockets, now close to nothing).
`,
    tables: [
      { title: 'Memory per connection', columns: ['kind', 'N', 'client RSS', 'client JS', 'server RSS', 'server JS'], rows: memRows },
      {
        title: 'CPU and event loop',
        columns: ['kind', 'N', 'pings/s', 'client CPU', 'server CPU', 'client loop p99', 'server loop p99', 'CPU per ping, all-in', 'net of idle'],
        rows: cpuRows,
        note: `CPU: CPU seconds per second (100% = one core). RSS ratio ResilientClient / raw idle (N = ${sizes.map((n) => fmt(n)).join(', ')}): client side ${ratioText('client')}; server side ${ratioText('server')}. The ping/pong floors hold the same objects as raw idle plus one timer, yet show more RSS per connection: V8 grows its young generation with the allocation rate, which grows with the number of pinging connections (up to 3 × 16 MiB).`,
      },
    ],
    charts: [
      {
        name: 'scale',
        title: 'CPU of client + server processes vs connections (heartbeat 1 s)',
        xLabel: 'connections',
        yLabel: 'CPU, % of one core (client + server)',
        series: kinds.map((k) => ({ name: SHORT[k], points: sizes.map((n): [number, number] => [n, med(k, n, both) * 100]) })),
      },
    ],
    verdicts: [
      {
        target: 'RSS per connection ≤ 1.5× a raw socket, client and server side',
        measured: judged.length ? `client ${fmt(worstRatio)}× (worst of N = ${judged.map((n) => fmt(n)).join(', ')}); server ${serverJudged.length ? `${fmt(worstServer)}×` : 'n/a'}` : 'n/a (RSS noise)',
        met: judged.length ? worstRatio <= 1.5 && (!serverJudged.length || worstServer <= 1.5) : null,
      },
      {
        target: 'client JS heap (V8 used + external) per connection ≤ 1.5 KiB',
        measured: `${fmt(jsWorst / 1024)} KiB (worst N; a raw socket ${fmt(jsRaw / 1024)} KiB)`,
        met: jsWorst <= 1.5 * 1024,
      },
      {
        target: 'heartbeat CPU per ping ≤ 1.2× the raw ping/pong floor (bursts), net of idle',
        measured: `${fmt(cpuRatio)}× (worst N = ${fmt(worstCpuN)}: ${fmt(ping)} µs against ${fmt(floor)} µs; spread floor ${fmt(floorSpread)} µs)`,
        met: cpuRatio <= 1.2,
      },
      { target: `event-loop p99 < 20 ms at ${fmt(big)}`, measured: `${fmt(p99)} ms (worse of client and server)`, met: p99 < 20 },
    ],
  };
}

if (require.main === module) {
  const [role, kind] = [process.argv[2], process.argv[3] as Kind];
  if (role === 'server') void serverProcess(kind);
  else if (role === 'clients') clientsProcess(kind);
  else {
    process.stderr.write('usage: scale.ts server|clients rc|raw|ping\n');
    process.exit(2);
  }
}
