/**
 * Child processes for the benchmarks: each benchmark file doubles as the
 * entry point of its own helper processes (`node --require
 * bench/ts-require.cjs bench/x.ts <role> …`), driven over IPC with a tiny
 * request/reply protocol. Every child
 * started here is tracked and killed by its PID when the parent exits, and
 * exits by itself when the parent's IPC channel closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
/** `node --require <this> x.ts` loads TypeScript as the dist build compiles it (see ts-require.cjs: not tsx). */
export const TS_HOOK = path.join(__dirname, 'ts-require.cjs');

/** Epoch ms with sub-ms resolution, comparable across processes on one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves `p`, or rejects after `ms` with `what` in the message. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Polls `cond` every `everyMs` until it holds; false if `timeoutMs` passed first. Bounded in count and time. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1e7 && Date.now() < deadline; i++) {
    if (cond()) return true;
    await sleep(everyMs);
  }
  return cond();
}

interface Envelope {
  type: string;
  id?: number;
  ok?: boolean;
  value?: unknown;
  error?: string;
  [key: string]: unknown;
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Sends `cmd` and resolves with the child's reply value. */
  call<T = unknown>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Resolves with the next event of `type` the child sends. */
  next<T = Envelope>(type: string, timeoutMs: number): Promise<T>;
  /** Stops the child by its PID (SIGTERM, then SIGKILL after `graceMs`) and waits for its exit. */
  stop(graceMs?: number): Promise<void>;
  /** Kills the child by its PID now and waits for its exit. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;

function killAllSync(): void {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const s of ['SIGINT', 'SIGTERM'] as const) {
    process.on(s, () => {
      killAllSync();
      process.exit(130);
    });
  }
}

export interface StartOptions {
  /**
   * Raise the open-file limit first (`bash -c 'ulimit -n N; exec node …'`); where
   * the hard limit is lower and may not be raised (no CAP_SYS_RESOURCE), up to
   * the hard limit.
   */
  ulimitFiles?: number;
  /** Extra node flags (e.g. --expose-gc, --cpu-prof). */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Run the child on this CPU only (`taskset -c <cpu> node …`; taskset execs
   * node, so the PID is node's). Ignored where pinning() says it cannot pin.
   */
  cpu?: number;
}

/** util-linux taskset, which sets a process's CPU affinity before it execs the command. */
const TASKSET = '/usr/bin/taskset';

/**
 * Whether children can be pinned to CPUs of their own: `why` says why not
 * (BENCH_PIN=0 turns pinning off, e.g. to compare against unpinned runs).
 */
export function pinning(): { ok: boolean; why: string } {
  if (process.env.BENCH_PIN === '0') return { ok: false, why: 'BENCH_PIN=0' };
  if (os.availableParallelism() < 2) return { ok: false, why: `${os.availableParallelism()} CPU available` };
  if (!fs.existsSync(TASKSET)) return { ok: false, why: `${TASKSET} not found` };
  return { ok: true, why: '' };
}

/** Starts `node --require bench/ts-require.cjs <file> <args…>` with an IPC channel. */
export function startChild(file: string, args: readonly string[], opts: StartOptions = {}): Child {
  hook();
  // BENCH_CPU_PROF=<dir>: every helper process writes a V8 CPU profile there when it exits.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const nodeArgv = [...prof, ...(opts.nodeArgs ?? []), '--require', TS_HOOK, file, ...args];
  const pin = opts.cpu !== undefined && pinning().ok ? [TASKSET, '-c', String(opts.cpu % os.availableParallelism())] : [];
  const argv = [...pin, process.execPath, ...nodeArgv];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  const env = { ...process.env, ...opts.env };
  // `exec` (bash's, taskset's) keeps the PID: the one we track is node's own.
  const proc =
    opts.ulimitFiles !== undefined
      ? spawn('bash', ['-c', `ulimit -n ${opts.ulimitFiles} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`, ...argv], {
          stdio,
          cwd: ROOT,
          env,
        })
      : spawn(argv[0] as string, argv.slice(1), { stdio, cwd: ROOT, env });
  if (proc.pid === undefined) throw new Error(`could not start ${file}`);
  live.add(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => live.delete(proc));
  const waiters = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners: Array<(m: Envelope) => void> = [];
  let nextId = 1;
  proc.on('message', (m: Envelope) => {
    if (m.type === 'reply' && m.id !== undefined) {
      const w = waiters.get(m.id);
      waiters.delete(m.id);
      if (m.ok) w?.resolve(m.value);
      else w?.reject(new Error(`child ${file} ${args[0] ?? ''}: ${m.error}`));
      return;
    }
    for (const l of [...listeners]) l(m);
  });
  void exited.then(() => {
    for (const w of waiters.values()) w.reject(new Error(`child ${file} ${args.join(' ')} exited (code ${proc.exitCode}, signal ${proc.signalCode})`));
    waiters.clear();
  });
  const pid = proc.pid;
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  const isDone = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  return {
    proc,
    pid,
    call: <T>(cmd: string, a: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> => {
      const id = nextId++;
      const p = new Promise<T>((resolve, reject) => waiters.set(id, { resolve: resolve as (v: unknown) => void, reject }));
      proc.send({ type: 'call', id, cmd, args: a });
      return withTimeout(p, timeoutMs, `${path.basename(file)} ${cmd}`);
    },
    next: <T>(type: string, timeoutMs: number): Promise<T> => {
      let l: ((m: Envelope) => void) | undefined;
      const p = new Promise<T>((resolve) => {
        l = (m) => {
          if (m.type !== type) return;
          listeners.splice(listeners.indexOf(l as (m: Envelope) => void), 1);
          resolve(m as unknown as T);
        };
        listeners.push(l);
      });
      const died = exited.then(() => {
        throw new Error(`child ${file} ${args.join(' ')} exited (code ${proc.exitCode}, signal ${proc.signalCode}) before '${type}'`);
      });
      died.catch(() => undefined); // handled by the race below; never an unhandled rejection later
      return withTimeout(Promise.race([p, died]), timeoutMs, `${path.basename(file)} waiting for '${type}'`).catch((err: Error) => {
        const i = listeners.indexOf(l as (m: Envelope) => void);
        if (i >= 0) listeners.splice(i, 1);
        throw err;
      });
    },
    stop: async (graceMs = 3000): Promise<void> => {
      if (isDone()) return;
      signal('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (killed && !isDone()) {
        signal('SIGKILL');
        await exited;
      }
    },
    kill: async (): Promise<void> => {
      if (isDone()) return;
      signal('SIGKILL');
      await exited;
    },
  };
}

// ---- child side -------------------------------------------------------------

export type Handlers = Record<string, (args: Record<string, unknown>) => unknown>;

/** In a child: answers the parent's calls with `handlers`; exits when the parent goes away. */
export function serve(handlers: Handlers): void {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.on('message', (m: Envelope) => {
    if (m.type !== 'call' || m.id === undefined) return;
    const fn = handlers[m.cmd as string];
    const id = m.id;
    Promise.resolve()
      .then(() => {
        if (!fn) throw new Error(`unknown command ${String(m.cmd)}`);
        return fn((m.args as Record<string, unknown>) ?? {});
      })
      .then(
        (value) => process.send?.({ type: 'reply', id, ok: true, value }),
        (err: unknown) => process.send?.({ type: 'reply', id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
      );
  });
}

/** In a child: sends an event to the parent. */
export function emit(type: string, payload: Record<string, unknown> = {}): void {
  process.send?.({ type, ...payload });
}

/** CPU seconds used by this process since `since` (process.cpuUsage). */
export function cpuSeconds(since?: NodeJS.CpuUsage): { cpu: number; usage: NodeJS.CpuUsage } {
  const u = process.cpuUsage(since);
  return { cpu: (u.user + u.system) / 1e6, usage: process.cpuUsage() };
}
