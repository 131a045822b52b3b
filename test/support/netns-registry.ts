/**
 * Everything the netns harness (netns.ts) has created and not yet removed,
 * and the last-resort cleanup: a process 'exit' hook plus SIGINT/SIGTERM
 * handlers that remove it synchronously. The hooks are installed with the
 * first registered namespace and removed with the last, so a process that
 * uses no namespace keeps Node's default signal behaviour.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';

/** What one namespace pair owns on this machine. */
export interface NetnsResources {
  ns: string;
  hostIf: string;
  /** Host-side blackhole route (`ip route del` arguments), removed last; null until added. */
  hostRoute: string[] | null;
  /** Processes started inside the namespace by this harness. */
  children: Set<ChildProcess>;
}

const live = new Map<string, NetnsResources>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let hooked = false;

/** Runs `ip` synchronously; failures are ignored (the thing may already be gone). */
function ipQuiet(args: string[]): string {
  try {
    return execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString();
  } catch {
    return '';
  }
}

/** PIDs of every process still inside `ns` (all started by us: the namespace is ours alone). */
export function pidsInNs(output: string): number[] {
  return output
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

/** Removes everything `r` holds, synchronously. Safe to call on partly created or already removed resources. */
export function cleanupSync(r: NetnsResources): void {
  for (const child of r.children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const pid of pidsInNs(ipQuiet(['netns', 'pids', r.ns]))) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Deleting one end of a veth pair deletes both, even if a process still pins the namespace.
  ipQuiet(['link', 'del', r.hostIf]);
  ipQuiet(['netns', 'del', r.ns]);
  if (r.hostRoute) ipQuiet(['route', 'del', ...r.hostRoute]);
  live.delete(r.ns);
}

function onExit(): void {
  for (const r of [...live.values()]) cleanupSync(r);
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  unhook();
  // Re-raise so the process ends as it would have without us, unless someone else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Records resources before they are created, so a crash mid-creation still cleans up. */
export function register(r: NetnsResources): void {
  live.set(r.ns, r);
  hook();
}

/** Forgets resources that were removed. */
export function unregister(ns: string): void {
  live.delete(ns);
  if (live.size === 0) unhook();
}

/** The resources registered for `ns`, if this process created it. */
export function lookup(ns: string): NetnsResources | undefined {
  return live.get(ns);
}
