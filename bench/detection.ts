/**
 * Benchmark 2: dead-link detection after a true cable pull. Servers run in a
 * network namespace joined to the host by a veth pair (test/support/netns.ts);
 * clients run here, on the host; `ip link set <host end> down` drops every
 * packet with no FIN and no RST. Each client's first sign that the link is
 * dead is timed from the start of that command, idle and with data in flight.
 * Runs need root; the runs go in parallel, one namespace each.
 *
 *   ip netns exec <ns> node --require bench/ts-require.cjs bench/detection.ts nsserver <addr>
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { connect as mqttConnect } from 'mqtt';
import { ResilientClient } from '../src/client/client';
import { HeartbeatServer } from '../src/server';
import { createNetnsPair, type NetnsPair } from '../test/support/netns';
import { column, ipMedian, netnsSkipReason, secondsCell, spawnBenchInNs, timeFault, worstOf, type RunResult, type Sign } from './netns-bench';
import { epochNow, withTimeout } from './proc';
import { Section, fmt } from './report';

const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };
const KEEPALIVE_MS = 1000;
const INFLIGHT_EVERY_MS = 50;
const CHUNK = Buffer.alloc(1024, 0x62);

type Mode = 'idle' | 'in flight';
type Who = 'ResilientClient' | 'raw socket + setKeepAlive' | 'reconnect-net' | 'mqtt.js + aedes';
const WHO: Who[] = ['ResilientClient', 'raw socket + setKeepAlive', 'reconnect-net', 'mqtt.js + aedes'];
const MODES: Mode[] = ['idle', 'in flight'];

/** The namespace servers' ports (their 'ready' line). */
interface Ports {
  hb: number;
  raw: number;
  mqtt: number;
}

/** Inside the namespace: a HeartbeatServer, a plain TCP sink and an aedes MQTT broker; ports on stdout. */
async function nsServer(host: string): Promise<void> {
  const hb = new HeartbeatServer({ host, idleTimeoutMs: 120_000, sessionTtlMs: 120_000 });
  hb.on('error', () => undefined);
  const { port: hbPort } = await hb.listen();
  const raw = net.createServer((s) => {
    s.on('error', () => undefined);
    s.resume();
  });
  raw.listen(0, host);
  await once(raw, 'listening');
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const mq = net.createServer((s) => void broker.handle(s));
  mq.listen(0, host);
  await once(mq, 'listening');
  const port = (s: net.Server): number => (s.address() as net.AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ type: 'ready', hb: hbPort, raw: port(raw), mqtt: port(mq) })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

interface Probe {
  who: Who;
  mode: Mode;
  /** Its first sign that the link died, or undefined. */
  sign?: Sign;
  ready: Promise<void>;
  stop(): void;
}

/** One client of each kind in `mode`, connected to the namespace's servers. */
function probes(addr: string, ports: Ports, mode: Mode): Probe[] {
  const out: Probe[] = [];
  const inflight = mode === 'in flight';
  const every = (fn: () => void): (() => void) => {
    if (!inflight) return () => undefined;
    const t = setInterval(fn, INFLIGHT_EVERY_MS);
    return () => clearInterval(t);
  };
  const notice = (p: Probe, how: string): void => {
    p.sign ??= { at: epochNow(), how };
  };
  {
    // Network watch off: the link that goes down is the client's own host end, which the watch
    // would report within networkCheckMs; this section measures the heartbeat (the watch has its own).
    const c = new ResilientClient({ host: addr, port: ports.hb, heartbeat: HEARTBEAT, connectTimeoutMs: 2000, networkCheckMs: false });
    const p: Probe = { who: 'ResilientClient', mode, ready: c.connect(), stop: () => undefined };
    c.on('error', () => undefined);
    c.on('close', (e) => notice(p, e.error?.code ?? 'close'));
    let stopData = (): void => undefined;
    void p.ready.then(() => (stopData = every(() => void c.send(CHUNK).catch(() => undefined))));
    p.stop = () => {
      stopData();
      void c.destroy();
    };
    out.push(p);
  }
  {
    const s = net.connect({ host: addr, port: ports.raw });
    s.setKeepAlive(true, KEEPALIVE_MS);
    const p: Probe = { who: 'raw socket + setKeepAlive', mode, ready: once(s, 'connect').then(() => undefined), stop: () => undefined };
    s.on('error', (e: NodeJS.ErrnoException) => notice(p, e.code ?? 'error'));
    s.on('close', () => notice(p, 'close'));
    const stopData = every(() => s.writable && s.write(CHUNK));
    p.stop = () => {
      stopData();
      s.destroy();
    };
    out.push(p);
  }
  {
    // reconnect-net ships no types: reconnect(onConnect).connect(port, host) -> emitter.
    const reconnect = require('reconnect-net') as (onConnect: (con: net.Socket) => void) => {
      connect(port: number, host: string): NodeJS.EventEmitter & { disconnect(): void };
    };
    let con: net.Socket | undefined;
    let connected: () => void = () => undefined;
    const p: Probe = { who: 'reconnect-net', mode, ready: new Promise<void>((r) => (connected = r)), stop: () => undefined };
    const re = reconnect((c) => {
      con = c;
      c.on('error', () => undefined);
      connected();
    }).connect(ports.raw, addr);
    re.on('error', () => undefined);
    re.on('disconnect', (err?: NodeJS.ErrnoException) => notice(p, err?.code ?? 'disconnect'));
    const stopData = every(() => con?.writable && con.write(CHUNK));
    p.stop = () => {
      stopData();
      re.disconnect();
      con?.destroy();
    };
    out.push(p);
  }
  {
    const m = mqttConnect(`mqtt://${addr}:${ports.mqtt}`, { keepalive: KEEPALIVE_MS / 1000, reconnectPeriod: 0, connectTimeout: 5000 });
    const p: Probe = { who: 'mqtt.js + aedes', mode, ready: new Promise<void>((r) => m.once('connect', () => r())), stop: () => undefined };
    m.on('error', (e) => notice(p, e.message));
    m.on('close', () => notice(p, 'close'));
    m.on('offline', () => notice(p, 'offline'));
    const stopData = every(() => void m.publish('bench', CHUNK, { qos: 1 }, () => undefined));
    p.stop = () => {
      stopData();
      m.end(true);
    };
    out.push(p);
  }
  return out;
}

type Key = `${Who}/${Mode}`;

async function oneRun(capMs: number, steadyMs: number): Promise<RunResult<Key>> {
  let pair: NetnsPair | undefined;
  const all: Probe[] = [];
  try {
    const ns = (pair = await createNetnsPair());
    const ready = new Promise<Ports>((resolve) => {
      spawnBenchInNs<Ports & { type: string }>(ns, __filename, ['nsserver', ns.nsAddr], (m) => m.type === 'ready' && resolve(m));
    });
    const ports = await withTimeout(ready, 30_000, 'namespace server');
    for (const mode of MODES) all.push(...probes(ns.nsAddr, ports, mode));
    await withTimeout(Promise.all(all.map((p) => p.ready)), 15_000, 'clients connect');
    const byKey = new Map(all.map((p) => [`${p.who}/${p.mode}` as Key, p]));
    return await timeFault([...byKey.keys()], (k) => byKey.get(k)?.sign, () => ns.linkDown(), { steadyMs, capMs });
  } finally {
    for (const p of all) p.stop();
    await pair?.destroy();
  }
}

export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const capMs = opts.smoke ? 4000 : 60_000;
  const base = {
    id: 'detection',
    title: '2. Dead-link detection after a cable pull (network namespace)',
    charts: [],
  };
  const skip = (reason: string): Section => {
    return { ...base, method: '', tables: [], verdicts: [{ target: `ResilientClient ≤ timeoutMs + 100 ms`, measured: 'skipped', met: null }], skipped: reason };
  };
  const reason = await netnsSkipReason();
  if (reason !== undefined) return skip(reason);
  // The runs are independent (a namespace each) and mostly wait on timers: run them side by side.
  const steadyMs = opts.smoke ? 1500 : 2500;
  const results = await Promise.all(Array.from({ length: opts.runs }, () => oneRun(capMs, steadyMs)));
  const rows = WHO.map((who) => [
    who,
    ...MODES.flatMap((mode) => {
      const c = column(results, `${who}/${mode}`);
      return [secondsCell(c.ms, capMs), c.how];
    }),
  ]);
  const ours = MODES.map((mode) => worstOf(results, `ResilientClient/${mode}`, capMs));
  const limit = HEARTBEAT.timeoutMs + 100;
  return {
    ...base,
    method: `
A fresh namespace per run (test/support/netns.ts: a veth pair, /30 addresses, blackhole routes so nothing leaks out once the link is down) with one process inside it serving a HeartbeatServer, a plain TCP server that reads and discards, and an aedes MQTT broker. On the host, one client of each kind per mode: *idle* (nothing sent but each library's own heartbeat) and *in flight* (1 KiB every ${INFLIGHT_EVERY_MS} ms, so unacknowledged data is outstanding when the link dies). After ${steadyMs / 1000} s of steady state, \`ip link set <host end> down\`; each client's first sign is timed from the start of that command (which took ${ipMedian(results)} ms), capped at ${capMs / 1000} s. ResilientClient runs with \`networkCheckMs: false\`: the downed link is its own host end, which its network watch reports within networkCheckMs (section "network change"), while a cable pulled further along the path leaves only the heartbeat. The ${opts.runs} runs go side by side, one namespace each.

- **ResilientClient**: heartbeat ${HEARTBEAT.intervalMs} ms, timeout ${HEARTBEAT.timeoutMs} ms, otherwise defaults; sign = \`close\` event.
- **raw socket**: \`net.Socket\` with \`setKeepAlive(true, ${KEEPALIVE_MS})\`; sign = \`error\`/\`close\`.
- **reconnect-net**: its defaults (no keepalive); sign = \`disconnect\`.
- **mqtt.js** keepalive ${KEEPALIVE_MS / 1000} s (QoS 1 publishes in flight) to aedes; sign = \`error\`/\`close\`/\`offline\`.
`,
    tables: [{ columns: ['client', 'idle', 'sign (idle)', 'in flight', 'sign (in flight)'], rows }],
    verdicts: MODES.map((mode, i) => ({
      target: `ResilientClient ≤ timeoutMs + 100 ms (${limit} ms), ${mode}`,
      measured: ours[i]?.text ?? '',
      met: (ours[i]?.ms ?? Infinity) <= limit,
    })),
    notes: [
      'Why the idle ResilientClient is often faster than its timeout: the timeout counts from the last byte received (the last pong, up to one interval before the pull), not from the pull.',
    ],
  };
}

if (require.main === module) {
  if (process.argv[2] === 'nsserver' && process.argv[3]) void nsServer(process.argv[3]);
  else {
    process.stderr.write('usage: detection.ts nsserver <addr>\n');
    process.exit(2);
  }
}
