/**
 * Drives test/fixtures/client-process.ts: a ResilientClient in a child
 * process whose events arrive here as JSON lines, stamped with this process's
 * performance.now(). freeze()/thaw() are SIGSTOP/SIGCONT, the whole process
 * stopped as a laptop lid closing stops it; stop() kills it by its PID.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { ClientOptions } from '../../src';
import { waitFor } from './events';
import { killAndWait } from './netns-process';

export const CLIENT_FIXTURE = path.resolve(__dirname, '../fixtures/client-process.ts');
const ROOT = path.resolve(__dirname, '../..');

/** One event of the child's client, as the fixture printed it, plus `at`: performance.now() here when it was read. */
export interface ClientLine {
  event: string;
  at: number;
  code?: string;
  kind?: string;
  cause?: string;
  [field: string]: unknown;
}

/** One TCP socket of the child, from `ss -tanp`. */
export interface SsSocket {
  state: string;
  recvQ: number;
  sendQ: number;
  local: string;
  peer: string;
}

type Spawner = (command: string, args: readonly string[], opts: SpawnOptions) => ChildProcess;

/** How long freeze() waits for the kernel to report the child stopped. */
const FREEZE_CONFIRM_MS = 5000;

export class ClientProcess extends EventEmitter {
  readonly lines: ClientLine[] = [];
  private stderr = '';

  private constructor(
    readonly child: ChildProcess,
    /** The namespace the child runs in (for ss), if any. */
    readonly ns: string | undefined,
  ) {
    super();
    child.stdin?.on('error', () => undefined); // EPIPE once the child is gone
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      let line: ClientLine;
      try {
        line = { ...(JSON.parse(text) as { event: string }), at: performance.now() };
      } catch {
        this.stderr += `(stdout) ${text}\n`;
        return;
      }
      this.lines.push(line);
      this.emit('line', line);
    });
  }

  /**
   * Starts the fixture with `options` (JSON: no functions). `spawner` runs it
   * elsewhere, e.g. NetnsPair.spawn for a namespace (then pass its `ns`).
   */
  static start(options: ClientOptions, { spawner = spawn as Spawner, ns }: { spawner?: Spawner; ns?: string } = {}): ClientProcess {
    const child = spawner(process.execPath, ['--import', 'tsx', CLIENT_FIXTURE, JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.on('error', () => undefined); // a failed spawn shows as an exit
    return new ClientProcess(child, ns);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('client process did not start');
    return this.child.pid;
  }

  /** What the child wrote to stderr (for failure messages). */
  get errors(): string {
    return this.stderr;
  }

  /** The first line at index >= `after` (already read or still to come) matching `pred`. */
  async next(pred: (l: ClientLine) => boolean, { after = 0, guardMs = 30_000 } = {}): Promise<ClientLine> {
    const seen = this.lines.slice(after).find(pred);
    if (seen) return seen;
    const [line] = await waitFor<[ClientLine]>(this, 'line', pred, guardMs).catch((err: Error) => {
      throw new Error(`${err.message}; lines so far: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`);
    });
    return line;
  }

  /** SIGSTOP, resolved once the kernel reports the process stopped (state T in /proc/<pid>/stat). */
  freeze(): Promise<void> {
    return freezePid(this.pid);
  }

  /** SIGCONT; returns performance.now() right after the signal was sent. */
  thaw(): number {
    process.kill(this.pid, 'SIGCONT');
    return performance.now();
  }

  /** The child's TCP sockets to or from `port` (`ss -tanp`, in its namespace if it has one). */
  sockets(port: number): Promise<SsSocket[]> {
    const ssArgs = ['-H', '-tanp', '(', 'sport', '=', `:${port}`, 'or', 'dport', '=', `:${port}`, ')'];
    const [cmd, args] = this.ns === undefined ? ['ss', ssArgs] : ['ip', ['netns', 'exec', this.ns, 'ss', ...ssArgs]];
    const tag = `pid=${this.pid},`;
    return new Promise((resolve, reject) => {
      execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => {
        if (err) return reject(err);
        const rows = String(stdout)
          .split('\n')
          .filter((l) => l.includes(tag))
          .map((l) => l.trim().split(/\s+/))
          .map(([state = '', recvQ = '0', sendQ = '0', local = '', peer = '']) => ({ state, recvQ: Number(recvQ), sendQ: Number(sendQ), local, peer }));
        resolve(rows);
      });
    });
  }

  /**
   * Polls the child's sockets to or from `port` until one matches `pred` (socket
   * states and queues change in the kernel with no event to wait for: a bounded poll).
   */
  async waitForSocket(port: number, pred: (s: SsSocket) => boolean, what: string, timeoutMs = 15_000): Promise<SsSocket> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const all = await this.sockets(port);
      const found = all.find(pred);
      if (found) return found;
      if (performance.now() > deadline) throw new Error(`no socket of pid ${this.pid} on port ${port} is ${what} after ${timeoutMs} ms: ${JSON.stringify(all)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kills the child by its PID (SIGKILL works on a stopped process too) and waits for its exit. */
  stop(): Promise<void> {
    return killAndWait(this.child, { signal: 'SIGKILL' });
  }
}

/** SIGSTOP to `pid`, resolved once the kernel reports it stopped (state T in /proc/<pid>/stat). */
export async function freezePid(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = performance.now() + FREEZE_CONFIRM_MS;
  while (procState(pid) !== 'T') {
    if (performance.now() > deadline) throw new Error(`pid ${pid} not stopped after ${FREEZE_CONFIRM_MS} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The state letter of /proc/<pid>/stat (R, S, T …), '' once the process is gone. */
function procState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": comm may contain spaces and parentheses, the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}
