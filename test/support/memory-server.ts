/**
 * Starts test/fixtures/memory-server-process.ts (a HeartbeatServer in a child
 * process run with --expose-gc) and asks it for its memory after gc().
 * stop() ends it by PID in every outcome: politely, then SIGKILL.
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { ServerOptions } from '../../src/server';
import type { MemoryReport } from '../fixtures/memory-server-process';

export type { MemoryReport };

/** How long a child may take to start, answer or close before it is killed. */
const GUARD_MS = 20_000;

export interface MemoryServer {
  readonly port: number;
  readonly pid: number | undefined;
  /** The child's memory after two full collections, and what its sockets read. */
  memory(): Promise<MemoryReport>;
  /** Resolves once the sockets counted since memory() have read at least `bytes` bytes in all. */
  read(bytes: number): Promise<void>;
  stop(): Promise<void>;
}

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`memory server: no '${type}' within ${GUARD_MS} ms`)), GUARD_MS);
    const onMessage = (m: { type?: string }): void => {
      if (m.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null): void => done(new Error(`memory server exited (${code}) before '${type}'`));
    function done(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startMemoryServer(options: ServerOptions): Promise<MemoryServer> {
  const child = fork(path.join(__dirname, '..', 'fixtures', 'memory-server-process.ts'), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: 'inherit',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ cmd: 'close' });
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    await exited;
    clearTimeout(guard);
  };
  try {
    const { port } = await nextMessage<{ port: number }>(child, 'listening');
    return {
      port,
      pid: child.pid,
      memory: () => {
        const reply = nextMessage<MemoryReport>(child, 'memory');
        child.send({ cmd: 'memory' });
        return reply;
      },
      read: async (bytes) => {
        const reply = nextMessage<{ bytes: number }>(child, 'read');
        child.send({ cmd: 'read', bytes });
        await reply;
      },
      stop,
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
}
