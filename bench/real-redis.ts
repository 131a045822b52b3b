/**
 * A real redis-server for a benchmark: test/support/real-server.ts's
 * RealServer (the one test/real-servers uses) with the same config
 * (test/support/real-server-specs.ts: loopback, a free port, no persistence,
 * its own temp dir). Stopped by its PID in every outcome: in `finally`, and,
 * should the bench process exit or be signalled first, SIGKILLed (and its
 * temp dir removed) from its 'exit' hook.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../test/support/lifecycle';
import { RealServer } from '../test/support/real-server';
import { redisSpec } from '../test/support/real-server-specs';
import { findBinary } from '../test/support/real-servers';

export type { RealServer } from '../test/support/real-server';

/** Exit code when a signal ends the bench while a server runs (128 + SIGINT, as run.ts's helpers use). */
const SIGNAL_EXIT_CODE = 130;

/** Why Redis benchmarks cannot run here, or undefined with the binary's path in `binary`. */
export function redisBinary(): { binary?: string; skip?: string } {
  const spec = redisSpec();
  const binary = findBinary(spec.binary);
  return binary ? { binary } : { skip: `${spec.binary} not found (apt-get install -y ${spec.aptPackage}); this section needs a real Redis` };
}

/** Starts redis-server on a free port, runs `fn` with it, and stops it by PID whatever happens. */
export async function withRedis<T>(binary: string, fn: (redis: RealServer) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcp-bench-redis-'));
  const redis = new RealServer(binary, await freePort(), dir, redisSpec());
  const kill = (): void => {
    redis.killSync();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // process.exit runs the 'exit' hook (a signal's default action would not).
  const onSignal = (): never => process.exit(SIGNAL_EXIT_CODE);
  process.on('exit', kill);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await redis.start();
    return await fn(redis);
  } finally {
    await redis.dispose();
    process.off('exit', kill);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
