/**
 * What the namespace benchmarks (bench/detection.ts, bench/network-change.ts)
 * share: when they can run, how one run times a fault (the first sign of each
 * client, from the start of the `ip` command that caused it, capped), and how
 * a cell of their tables reads. Each file keeps its own clients and fault.
 */
import { createInterface } from 'node:readline';
import { netnsAvailable, type NetnsPair } from '../test/support/netns';
import { ROOT, TS_HOOK, epochNow, sleep, waitUntil } from './proc';
import { fmt, median } from './report';

/** A client's first sign that the fault happened: when (epochNow) and what it was (an error code, an event). */
export interface Sign {
  at: number;
  how: string;
}

/** One run: per client, ms from the start of the fault command to its first sign (Infinity past the cap), and that sign. */
export interface RunResult<K extends string> {
  ms: Map<K, number>;
  how: Map<K, string>;
  /** How long the fault command itself took, ms. */
  ipMs: number;
}

/** Why a namespace benchmark cannot run here, or undefined when it can (Linux, root, `ip netns` working). */
export async function netnsSkipReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace and a veth pair (run as root to measure it)';
  const probe = await netnsAvailable();
  return probe.ok ? undefined : (probe.reason ?? 'network namespaces unavailable');
}

/**
 * Starts `node --require bench/ts-require.cjs <file> <args…>` inside the
 * namespace (destroying the pair kills it) and hands each JSON line of its
 * stdout to `onLine`.
 */
export function spawnBenchInNs<M>(pair: NetnsPair, file: string, args: readonly string[], onLine: (m: M) => void): void {
  const child = pair.spawn(process.execPath, ['--require', TS_HOOK, file, ...args], { stdio: ['pipe', 'pipe', 'inherit'], cwd: ROOT });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => onLine(JSON.parse(l) as M));
}

/**
 * After `steadyMs` of steady state, runs `fault` and waits (at most `capMs`)
 * until every client in `who` has a sign; each is timed from the start of
 * `fault`, in epochNow() ms as the signs are.
 */
export async function timeFault<K extends string>(
  who: readonly K[],
  signOf: (k: K) => Sign | undefined,
  fault: () => Promise<unknown>,
  opts: { steadyMs: number; capMs: number },
): Promise<RunResult<K>> {
  // Let heartbeats, keepalive timers, watches and data flow reach a steady state.
  await sleep(opts.steadyMs);
  const t0 = epochNow();
  await fault();
  const ipMs = epochNow() - t0;
  await waitUntil(() => who.every((k) => signOf(k) !== undefined), opts.capMs, 5);
  const ms = new Map<K, number>();
  const how = new Map<K, string>();
  for (const k of who) {
    const s = signOf(k);
    const d = s === undefined ? Infinity : s.at - t0;
    ms.set(k, d > opts.capMs ? Infinity : d);
    how.set(k, s?.how ?? 'nothing');
  }
  return { ms, how, ipMs };
}

/** A cell: "median (min–max)" in seconds over the runs, "> cap" for a run past the cap. */
export function secondsCell(xs: readonly number[], capMs: number): string {
  const f = (x: number): string => (Number.isFinite(x) ? `${fmt(x / 1000)} s` : `> ${capMs / 1000} s`);
  return xs.length === 1 || xs.every((x) => !Number.isFinite(x)) ? f(median(xs)) : `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

/** The times of client `k` over the runs, and its distinct signs joined. */
export function column<K extends string>(results: ReadonlyArray<RunResult<K>>, k: K): { ms: number[]; how: string } {
  return { ms: results.map((r) => r.ms.get(k) ?? Infinity), how: [...new Set(results.map((r) => r.how.get(k) ?? '?'))].join(', ') };
}

/** The worst of the runs for client `k`, for a verdict: "N ms (worst of R)" or "> cap". */
export function worstOf<K extends string>(results: ReadonlyArray<RunResult<K>>, k: K, capMs: number): { ms: number; text: string } {
  const ms = Math.max(...results.map((r) => r.ms.get(k) ?? Infinity));
  return { ms, text: Number.isFinite(ms) ? `${fmt(ms)} ms (worst of ${results.length})` : `> ${capMs / 1000} s` };
}

/** The median duration of the fault command over the runs, for the method text. */
export function ipMedian(results: ReadonlyArray<RunResult<string>>): string {
  return fmt(median(results.map((r) => r.ipMs)));
}
