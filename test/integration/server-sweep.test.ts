/**
 * The idle sweep with the lazy touch (src/server/expiry-list.ts, slackMs):
 * a read moves its connection in the idle list only when its place is older
 * than half of idleTimeoutMs, yet the sweep closes exactly the connections
 * silent for idleTimeoutMs, never one that read since. Time is driven through
 * server.sweep(now): the sweep timer (sweepIntervalMs 1 h) never fires, so
 * no stall is credited and the server's clock is this process's
 * performance.now(), which the server records in whole ms rounded up
 * (sweeper.ts clock()): a connection last read at t is swept by a sweep at
 * ceil(t) + idleTimeoutMs, never before t + idleTimeoutMs.
 */
import { performance } from 'node:perf_hooks';
import type { ResilientError } from '../../src';
import type { Session } from '../../src/server';
import { FrameType, encodePing } from '../../src/protocol/frames';
import { record } from '../support/events';
import { useServerWithRawClients } from '../support/lifecycle';
import type { RawClient } from '../support/raw-client';

const IDLE_MS = 60_000;

/** HELLO, then the WELCOME; returns the session id and when the WELCOME was in (the server touched the link before it sent it). */
async function open(raw: RawClient, clientId: string): Promise<{ id: string; welcomedAt: number }> {
  raw.hello({ clientId });
  const w = JSON.parse((await raw.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string };
  return { id: w.sessionId, welcomedAt: performance.now() };
}

/** Resolves once performance.now() has passed the whole ms after `t`, so a touch from now on is recorded after ceil(t). */
async function pastWholeMs(t: number): Promise<void> {
  for (let i = 0; i < 1000 && performance.now() <= Math.ceil(t); i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One PING; resolves with when it was sent (the server read it at or after that) once its PONG is back. */
async function ping(raw: RawClient): Promise<number> {
  raw.frames.length = 0;
  const sentAt = performance.now();
  raw.socket.write(encodePing(FrameType.PING, { seq: 1, sentAt: 0 }));
  await raw.nextFrame(FrameType.PONG);
  return sentAt;
}

describe('idle sweep with the lazy touch', () => {
  const ctx = useServerWithRawClients({ idleTimeoutMs: IDLE_MS, sweepIntervalMs: 3_600_000 });

  it('closes the silent connection placed behind one that read since (the reader keeps its place, the sweep looks past it)', async () => {
    const a = await ctx.raw();
    const b = await ctx.raw();
    const disconnects = record<[Session, ResilientError | undefined]>(ctx.server, 'disconnect');
    const sa = await open(a, 'a');
    const sb = await open(b, 'b'); // b is placed behind a
    await pastWholeMs(sb.welcomedAt); // b's last touch is recorded at or before ceil(welcomedAt), a's next one after it
    const aReadAt = await ping(a); // within half of IDLE_MS of a's place: a is not moved, only its time is written

    // The cutoff (now - IDLE_MS) between b's last byte and a's: b silent for more than IDLE_MS, a for less.
    const cutoff = Math.ceil(sb.welcomedAt);
    expect(cutoff).toBeLessThan(aReadAt);
    ctx.server.sweep(cutoff + IDLE_MS);
    expect(disconnects.map(([s, err]) => [s.id, err?.code])).toEqual([[sb.id, 'ERR_HEARTBEAT_TIMEOUT']]);
    expect(ctx.server.sweepStats.idleClosed).toBe(1);

    ctx.server.sweep(performance.now() + 1 + IDLE_MS); // a silent for IDLE_MS since its PONG came back (+ 1: whole ms)
    expect(disconnects.map(([s]) => s.id)).toEqual([sb.id, sa.id]);
  });

  it('never closes a connection before idleTimeoutMs after its last read', async () => {
    const a = await ctx.raw();
    const disconnects = record(ctx.server, 'disconnect');
    await open(a, 'a');
    for (let i = 0; i < 3; i++) {
      const readAt = await ping(a);
      ctx.server.sweep(readAt + IDLE_MS - 0.01); // silent for just under IDLE_MS
      expect(disconnects).toHaveLength(0);
    }
    ctx.server.sweep(performance.now() + 1 + IDLE_MS);
    expect(disconnects).toHaveLength(1);
  });
});
