/**
 * Benchmark: detection of a network change (issue 9 item 5), beside the
 * heartbeat. A HeartbeatServer listens here, on the host end of a veth pair
 * (test/support/netns.ts); two ResilientClients run in one process inside the
 * namespace, one with the network watch (`networkCheckMs`, default 2000 ms)
 * and one without (`networkCheckMs: false`: only its heartbeat can notice).
 * `ip -n <ns> addr del` removes the address their sockets are bound to; each
 * client's `close` is timed from the start of that command. Needs root; the
 * runs go in parallel, one namespace each; without root or namespaces the
 * section is skipped, as bench/detection.ts is.
 *
 *   ip netns exec <ns> node --require bench/ts-require.cjs bench/network-change.ts nsclient <host> <port>
 */
import type { ClientOptions } from '../src';
import { ResilientClient } from '../src/client/client';
import { NETWORK_CHECK_MS } from '../src/io/network-watch';
import { HeartbeatServer } from '../src/server';
import { createNetnsPair, ip, type NetnsPair } from '../test/support/netns';
import { column, ipMedian, netnsSkipReason, secondsCell, spawnBenchInNs, timeFault, worstOf, type RunResult, type Sign } from './netns-bench';
import { epochNow, withTimeout } from './proc';
import { Section } from './report';

/** The same heartbeat as the cable-pull benchmark (bench/detection.ts), so the two tables compare. */
const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };
type Who = 'network watch' | 'heartbeat only';
const WHO: Who[] = ['network watch', 'heartbeat only'];

interface CloseLine {
  type: 'close';
  who: Who;
  code: string;
  /** Epoch ms (epochNow), comparable with the parent's clock. */
  at: number;
}

/** Inside the namespace: both clients, connected to host:port; one JSON line on stdout per event. */
async function nsClient(host: string, port: number): Promise<void> {
  const out = (m: object): boolean => process.stdout.write(`${JSON.stringify(m)}\n`);
  const clients = WHO.map((who) => {
    const options: ClientOptions = { host, port, heartbeat: HEARTBEAT, connectTimeoutMs: 2000, networkCheckMs: who === 'network watch' ? NETWORK_CHECK_MS : false };
    const c = new ResilientClient(options);
    c.on('error', () => undefined);
    c.on('close', (e) => out({ type: 'close', who, code: e.error?.code ?? 'close', at: epochNow() }));
    return c;
  });
  await Promise.all(clients.map((c) => c.connect()));
  out({ type: 'ready' });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

async function oneRun(capMs: number, steadyMs: number): Promise<RunResult<Who>> {
  let pair: NetnsPair | undefined;
  let server: HeartbeatServer | undefined;
  try {
    const ns = (pair = await createNetnsPair());
    server = new HeartbeatServer({ host: ns.hostAddr, idleTimeoutMs: 120_000, sessionTtlMs: 120_000 });
    server.on('error', () => undefined);
    const { port } = await server.listen();
    const closes = new Map<Who, Sign>();
    const ready = new Promise<void>((resolve) => {
      spawnBenchInNs<{ type: 'ready' } | CloseLine>(ns, __filename, ['nsclient', ns.hostAddr, String(port)], (m) => {
        if (m.type === 'ready') resolve();
        else if (!closes.has(m.who)) closes.set(m.who, { at: m.at, how: m.code });
      });
    });
    await withTimeout(ready, 30_000, 'namespace clients connect');
    const fault = (): Promise<string> => ip(['-n', ns.ns, 'addr', 'del', `${ns.nsAddr}/30`, 'dev', ns.nsIf]);
    return await timeFault(WHO, (who) => closes.get(who), fault, { steadyMs, capMs });
  } finally {
    await pair?.destroy();
    await server?.close();
  }
}

/** Time from `ip addr del` of the client's address to its `close`, with and without the network watch. */
export async function run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section> {
  const capMs = opts.smoke ? 6000 : 30_000;
  const base = { id: 'network-change', title: 'Detection of a network change (client address deleted, network namespace)', charts: [] };
  const target = `network watch ≤ networkCheckMs + 100 ms (${NETWORK_CHECK_MS + 100} ms)`;
  const skip = (reason: string): Section => ({ ...base, method: '', tables: [], verdicts: [{ target, measured: 'skipped', met: null }], skipped: reason });
  const reason = await netnsSkipReason();
  if (reason !== undefined) return skip(reason);
  const steadyMs = opts.smoke ? 1500 : 2500;
  const results = await Promise.all(Array.from({ length: opts.runs }, () => oneRun(capMs, steadyMs)));
  const rows = WHO.map((who) => {
    const c = column(results, who);
    return [who, secondsCell(c.ms, capMs), c.how];
  });
  const worst = worstOf(results, 'network watch', capMs);
  return {
    ...base,
    method: `
A fresh namespace per run (test/support/netns.ts) with one process inside it running two ResilientClients to a HeartbeatServer on the host end of the veth pair: one with the network watch (\`networkCheckMs\` ${NETWORK_CHECK_MS} ms, the default) and one with \`networkCheckMs: false\`; both with heartbeat ${HEARTBEAT.intervalMs} ms / ${HEARTBEAT.timeoutMs} ms, as in the cable-pull benchmark. After ${steadyMs / 1000} s of steady state, \`ip -n <ns> addr del <client address>\`; each client's \`close\` is timed from the start of that command (which took ${ipMedian(results)} ms), capped at ${capMs / 1000} s. The ${opts.runs} runs go side by side, one namespace each.
`,
    tables: [{ columns: ['client', 'close after addr del', 'close code'], rows }],
    verdicts: [{ target, measured: worst.text, met: worst.ms <= NETWORK_CHECK_MS + 100 }],
    notes: [
      'The watch reads the interfaces every networkCheckMs, so a change is seen between 0 and networkCheckMs after it: the median is about half the interval.',
      'Linux keeps a TCP connection whose local address was deleted; without the watch only the heartbeat (or TCP_USER_TIMEOUT with data in flight) ends it.',
    ],
  };
}

if (require.main === module) {
  if (process.argv[2] === 'nsclient' && process.argv[3] && process.argv[4]) void nsClient(process.argv[3], Number(process.argv[4]));
  else {
    process.stderr.write('usage: network-change.ts nsclient <host> <port>\n');
    process.exit(2);
  }
}
