/**
 * Measures the Redis example (examples/redis/redis-client.ts) against a real
 * redis-server started on a free port (test/support/real-server.ts):
 *
 *   1. restart → queued SET applied: redis stopped, a SET queued, redis
 *      started; from start() resolving (redis answers) to the SET's +OK.
 *   2. barrier latency with delivery 'confirmed' (send → resolve), idle
 *      (one SET at a time) and under load (1,000 SETs sent at once), next to
 *      a plain PING round trip on a raw socket as the baseline.
 *
 *   npx tsx bench/foreign-redis.ts [--runs=10] [--load=1000]
 *
 * Prints a table; asserts nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { redisClient } from '../examples/redis/redis-client';
import { respCodec, type RespValue } from '../examples/redis/resp-codec';
import type { ResilientClient } from '../src/index';
import { CodecSocket } from '../test/support/codec-socket';
import { freePort } from '../test/support/lifecycle';
import { RealServer } from '../test/support/real-server';
import { redisSpec } from '../test/support/real-server-specs';
import { findBinary } from '../test/support/real-servers';
import { fmt, median } from './report';

const RECONNECT = { initialDelayMs: 50, maxDelayMs: 500 };
const HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };
const IDLE_SENDS = 200;

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : fallback;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function row(name: string, xs: number[]): string {
  return `| ${name} | ${xs.length} | ${fmt(median(xs))} | ${fmt(percentile(xs, 99))} | ${fmt(Math.max(...xs))} |`;
}

function once<T extends unknown[]>(c: ResilientClient<RespValue>, event: 'close' | 'message', match: (...a: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const h = (...a: unknown[]): void => {
      if (!match(...(a as T))) return;
      c.off(event, h);
      resolve(a as T);
    };
    c.on(event, h);
  });
}

async function restartToApplied(redis: RealServer, runs: number): Promise<number[]> {
  const out: number[] = [];
  const c = redisClient({ host: '127.0.0.1', port: redis.port, db: 5, heartbeat: HEARTBEAT, reconnect: RECONNECT });
  c.on('error', () => undefined);
  await c.connect();
  for (let i = 0; i < runs; i++) {
    const lost = once(c, 'close');
    await redis.stop();
    await lost;
    const applied = once<[RespValue]>(c, 'message', (m) => m === 'OK');
    void c.send(['SET', `restart-${i}`, 'x']);
    await redis.start();
    const t0 = performance.now();
    await applied;
    out.push(performance.now() - t0);
  }
  await c.close();
  return out;
}

async function rawPing(port: number, n: number): Promise<number[]> {
  const s = await CodecSocket.connect(port, respCodec());
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    s.send(['PING']);
    await s.next();
    out.push(performance.now() - t0);
  }
  await s.destroy();
  return out;
}

async function barriers(port: number, delivery: 'written' | 'confirmed', load: number): Promise<{ idle: number[]; loaded: number[] }> {
  const c = redisClient({ host: '127.0.0.1', port, db: 5, heartbeat: HEARTBEAT, reconnect: RECONNECT, delivery, queue: { maxMessages: load * 2 } });
  c.on('error', () => undefined);
  await c.connect();
  const idle: number[] = [];
  for (let i = 0; i < IDLE_SENDS; i++) {
    const t0 = performance.now();
    await c.send(['SET', `idle-${i}`, 'x']);
    idle.push(performance.now() - t0);
  }
  const t0 = performance.now();
  const loaded = await Promise.all(Array.from({ length: load }, (_, i) => c.send(['SET', `load-${i}`, 'x']).then(() => performance.now() - t0)));
  await c.close();
  return { idle, loaded };
}

async function main(): Promise<void> {
  const binary = findBinary('redis-server');
  if (!binary) throw new Error('redis-server not found (apt-get install -y redis-server)');
  const runs = arg('runs', 10);
  const load = arg('load', 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcp-bench-redis-'));
  const redis = new RealServer(binary, await freePort(), dir, redisSpec());
  try {
    await redis.start();
    const restart = await restartToApplied(redis, runs);
    const ping = await rawPing(redis.port, IDLE_SENDS);
    const confirmed = await barriers(redis.port, 'confirmed', load);
    const written = await barriers(redis.port, 'written', load);
    console.log(`redis-server ${redis.port}, ${os.cpus().length} cpus, load ${os.loadavg()[0]?.toFixed(2)}; reconnect ${JSON.stringify(RECONNECT)}\n`);
    console.log('| ms | n | median | p99 | max |\n| --- | --- | --- | --- | --- |');
    console.log(row('restart → queued SET applied (from redis ready)', restart));
    console.log(row('raw PING round trip (baseline)', ping));
    console.log(row("send → resolve, 'confirmed', idle", confirmed.idle));
    console.log(row(`send → resolve, 'confirmed', ${load} SETs at once`, confirmed.loaded));
    console.log(row("send → resolve, 'written', idle", written.idle));
    console.log(row(`send → resolve, 'written', ${load} SETs at once`, written.loaded));
  } finally {
    await redis.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
