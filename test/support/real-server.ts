/**
 * One real server (redis-server, mosquitto, ngircd) as a child process of the
 * test: its own temp dir and config, a port chosen by the harness, stopped by
 * its PID. `restart()` brings it back on the same port; `freeze()` (SIGSTOP)
 * leaves the kernel accepting connections into the listen backlog while the
 * server answers nothing, `thaw()` (SIGCONT) wakes it.
 *
 * Output goes to `server.log` in the temp dir (not a pipe: a server never
 * blocks on a full pipe, and the test holds no handle for it); the tail is
 * quoted when the server fails to start or exits early.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killAndWait } from './netns-process';
import type { ServerSpec } from './real-server-specs';

/** Bound on start-up: from spawn to the first successful protocol exchange. */
const READY_TIMEOUT_MS = 10_000;
/** Pause between readiness probes while the port still refuses (a bounded poll, not a settle sleep). */
const PROBE_RETRY_MS = 25;
/** How long stop() waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** How much of server.log an error message quotes. */
const LOG_TAIL_BYTES = 2_000;

export class RealServer {
  readonly host = '127.0.0.1';
  /** Every PID this server ran under (one per start), for the leftover check. */
  readonly pids: number[] = [];
  private child: ChildProcess | undefined;
  private stopped = false;
  private isFrozen = false;

  constructor(
    /** The binary's absolute path. */
    readonly binary: string,
    readonly port: number,
    /** The temp dir holding its config and log; removed by dispose(). */
    readonly dir: string,
    private readonly spec: ServerSpec,
  ) {}

  /** PID of the running process, undefined when stopped. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    const c = this.child;
    return c?.pid !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** How the last process ended (`signal` is null for a normal exit), undefined while none has. */
  get lastExit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    const c = this.child;
    if (!c || (c.exitCode === null && c.signalCode === null)) return undefined;
    return { code: c.exitCode, signal: c.signalCode };
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /** Starts the process and resolves once it answered a protocol exchange; rejects (process stopped) otherwise. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.binary} on port ${this.port} is already running (pid ${this.child?.pid})`);
    const args = this.spec.args(this.dir, this.port);
    const log = fs.openSync(this.logPath(), 'a');
    try {
      this.child = spawn(this.binary, args, { cwd: this.dir, stdio: ['ignore', log, log] });
    } finally {
      fs.closeSync(log); // the child holds its own copy
    }
    this.child.on('error', () => undefined); // a spawn failure leaves no pid: waitReady reports it with the log
    if (this.child.pid !== undefined) this.pids.push(this.child.pid);
    this.stopped = false;
    try {
      await this.waitReady(this.child);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops the process by PID: SIGCONT if frozen, SIGTERM, SIGKILL after a bounded wait; resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child) return;
    this.thaw();
    await killAndWait(child, { graceMs: STOP_GRACE_MS });
  }

  /** Stops and starts again on the same port, with the same config. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGSTOP: TCP connects still complete (the kernel's backlog) but nothing is read or answered. */
  freeze(): void {
    if (!this.running || this.isFrozen) return;
    process.kill(this.child?.pid as number, 'SIGSTOP');
    this.isFrozen = true;
  }

  /** SIGCONT: the server runs again and reads what was queued meanwhile. */
  thaw(): void {
    if (!this.isFrozen) return;
    this.isFrozen = false;
    if (this.running) process.kill(this.child?.pid as number, 'SIGCONT');
  }

  /** Last resort for the process 'exit' hook: SIGKILL now, synchronously. */
  killSync(): void {
    if (this.running) process.kill(this.child?.pid as number, 'SIGKILL');
  }

  /** Stops the server and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The end of the server's own output. */
  logTail(): string {
    try {
      const text = fs.readFileSync(this.logPath(), 'utf8');
      return text.slice(-LOG_TAIL_BYTES);
    } catch {
      return '(no log)';
    }
  }

  private logPath(): string {
    return path.join(this.dir, 'server.log');
  }

  /** Probes until the server answers, it exits, stop() is called, or READY_TIMEOUT_MS passes. */
  private async waitReady(child: ChildProcess): Promise<void> {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = performance.now() + READY_TIMEOUT_MS;
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      if (!this.running || this.stopped) {
        throw new Error(`${this.spec.binary} exited before it was ready (${describeExit(child)}); its log:\n${this.logTail()}`);
      }
      try {
        await this.spec.probe(this.port);
        return;
      } catch (err) {
        last = err;
      }
      if (performance.now() >= deadline) {
        throw new Error(`${this.spec.binary} on port ${this.port} not ready after ${READY_TIMEOUT_MS} ms and ${attempt} probes (last: ${String(last)}); its log:\n${this.logTail()}`);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, PROBE_RETRY_MS)))]);
      clearTimeout(timer);
    }
  }
}

function describeExit(child: ChildProcess): string {
  if (child.signalCode !== null) return `signal ${child.signalCode}`;
  if (child.exitCode !== null) return `exit code ${child.exitCode}`;
  return 'stopped by the test';
}
