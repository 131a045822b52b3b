/**
 * Process and socket helpers for the netns harness (netns.ts): stop a child
 * by its PID and wait for its exit; count TCP sockets with `ss`.
 */
import { execFile, type ChildProcess } from 'node:child_process';

/** How long killAndWait waits after the first signal before it sends SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * Sends `signal` to the child's PID and resolves once it has exited; if it is
 * still running after `graceMs`, sends SIGKILL and waits for that.
 */
export async function killAndWait(
  child: ChildProcess,
  { signal = 'SIGTERM', graceMs = KILL_GRACE_MS }: { signal?: NodeJS.Signals; graceMs?: number } = {},
): Promise<void> {
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  if (child.pid === undefined || exited()) return;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalPid(child.pid, signal);
  if (signal === 'SIGKILL') return exit;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
  try {
    if (await Promise.race([exit.then(() => false), timedOut])) {
      signalPid(child.pid, 'SIGKILL');
      await exit;
    }
  } finally {
    clearTimeout(timer);
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: it exited between our check and the signal; its 'exit' event is on the way
  }
}

/** Which sockets ssCount counts. */
export interface SsFilter {
  /** Local or remote port the socket must have. */
  port: number;
  /** An `ss` state filter: 'established', 'close-wait', 'connected' (all but LISTEN and CLOSED), 'all' …  @default 'connected' */
  state?: string;
  /** Also count TIME-WAIT sockets, the normal leftover of an active close (not a leak). @default false */
  includeTimeWait?: boolean;
}

/**
 * Counts TCP sockets (`ss -tan`) on the host, or inside namespace `ns`, whose
 * local or remote port is `filter.port`. Use it to assert no socket is left.
 */
export function ssCount(ns: string | undefined, filter: SsFilter): Promise<number> {
  const state = filter.state ?? 'connected';
  const exclude = filter.includeTimeWait || state === 'time-wait' ? [] : ['exclude', 'time-wait'];
  const port = `:${filter.port}`;
  const ssArgs = ['-H', '-tan', 'state', state, ...exclude, '(', 'sport', '=', port, 'or', 'dport', '=', port, ')'];
  const [cmd, args] = ns === undefined ? ['ss', ssArgs] : ['ip', ['netns', 'exec', ns, 'ss', ...ssArgs]];
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ss failed: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout).split('\n').filter((l) => l.trim() !== '').length);
    });
  });
}

/** How often waitForSsCount re-reads the kernel's socket table. */
const SS_POLL_MS = 50;

/**
 * Polls ssCount until it equals `expected` or `timeoutMs` passes; resolves
 * with the last count. Socket states (LAST-ACK, FIN-WAIT …) change in the
 * kernel with no event to wait for, so this is a bounded poll, not a sleep.
 */
export async function waitForSsCount(ns: string | undefined, filter: SsFilter, expected: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await ssCount(ns, filter);
    if (count === expected || Date.now() >= deadline) return count;
    await new Promise((resolve) => setTimeout(resolve, SS_POLL_MS));
  }
}
