/**
 * The server's bounds (issue 9 item 4): retained sessions are capped by
 * maxSessions, evicting the session disconnected longest; a session is bound
 * to the credentials that created it; a client whose output stays blocked is
 * dropped as a slow consumer, not as a dead peer.
 */
import type { Session } from '../../src/server';
import type { ResilientError } from '../../src';
import { FrameType, encodePing } from '../../src/protocol/frames';
import { waitFor, waitUntil } from '../support/events';
import { useServerWithRawClients } from '../support/lifecycle';
import type { RawClient } from '../support/raw-client';

const MAX_SESSIONS = 20;

/** HELLO, WELCOME, then gone without BYE: the session stays, disconnected. Returns its id. */
async function helloAndClose(raw: RawClient, clientId: string): Promise<string> {
  raw.hello({ clientId });
  const w = JSON.parse((await raw.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string };
  raw.destroy();
  await raw.closed;
  return w.sessionId;
}

describe('maxSessions', () => {
  const ctx = useServerWithRawClients({ maxSessions: MAX_SESSIONS, sessionTtlMs: 600_000 });

  it('10,000 HELLO-and-close cycles keep at most maxSessions sessions; the oldest disconnected go first', async () => {
    const CYCLES = 10_000;
    const BATCH = 50;
    let most = 0;
    const ids: string[] = [];
    const ended: string[] = [];
    ctx.server.on('sessionEnd', (s: Session) => ended.push(s.id));
    for (let i = 0; i < CYCLES; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: BATCH }, async (_, j) => helloAndClose(await ctx.raw(), `c${i + j}`)));
      ids.push(...batch);
      most = Math.max(most, ctx.server.sessionCount);
    }
    await waitUntil(ctx.server, ['disconnect'], () => ctx.server.socketCount === 0);
    expect(most).toBeLessThanOrEqual(MAX_SESSIONS);
    expect(ctx.server.sessionCount).toBe(MAX_SESSIONS);
    expect(ended.length).toBe(CYCLES - MAX_SESSIONS);
    expect(ctx.server.session(ids[0] as string)).toBeUndefined();
    expect(ctx.server.session(ids[ids.length - 1] as string)).toBeDefined();
  }, 120_000);

  it('when every session is connected, a new HELLO is refused with ERR_SERVER_FULL; a session that disconnects makes room', async () => {
    const live: RawClient[] = [];
    for (let i = 0; i < MAX_SESSIONS; i++) {
      const r = await ctx.raw();
      r.hello({ clientId: `live${i}` });
      await r.nextFrame(FrameType.WELCOME);
      live.push(r);
    }
    const extra = await ctx.raw();
    extra.hello({ clientId: 'one-too-many' });
    await extra.closed;
    expect(extra.errorCode()).toBe('ERR_SERVER_FULL');
    expect(ctx.server.sessionCount).toBe(MAX_SESSIONS);
    // One leaves without BYE: the next new session takes its place.
    const gone = waitFor(ctx.server, 'disconnect');
    (live[0] as RawClient).destroy();
    await gone;
    const next = await ctx.raw();
    next.hello({ clientId: 'next' });
    await next.nextFrame(FrameType.WELCOME);
    expect(ctx.server.sessionCount).toBe(MAX_SESSIONS);
  });
});

describe('a session is bound to the credentials that created it', () => {
  const ctx = useServerWithRawClients({ sessionTtlMs: 600_000 });

  it('its id with the same clientId but another token gets a new session; the same token resumes it', async () => {
    const first = await ctx.raw();
    first.hello({ clientId: 'alice', token: 'alice-token' });
    const { sessionId } = JSON.parse((await first.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string };
    const gone = waitFor(ctx.server, 'disconnect');
    first.destroy();
    await gone;

    const thief = await ctx.raw();
    thief.hello({ clientId: 'alice', token: 'stolen-guess', sessionId, lastSeen: 0 });
    const t = JSON.parse((await thief.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string; resumed: boolean };
    expect(t.resumed).toBe(false);
    expect(t.sessionId).not.toBe(sessionId);

    const owner = await ctx.raw();
    owner.hello({ clientId: 'alice', token: 'alice-token', sessionId, lastSeen: 0 });
    const o = JSON.parse((await owner.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string; resumed: boolean };
    expect(o).toMatchObject({ sessionId, resumed: true });
  });
});

describe('slow consumer', () => {
  const ctx = useServerWithRawClients({ idleTimeoutMs: 400, slowConsumerMs: 1500, queue: { maxBytes: 64 << 20 } });

  it('a client that pings but never reads while the server sends is dropped with ERR_SLOW_CONSUMER, not as a dead peer', async () => {
    const connected = waitFor<[Session]>(ctx.server, 'connection');
    const raw = await ctx.raw();
    raw.hello({ clientId: 'never-reads' });
    await raw.nextFrame(FrameType.WELCOME);
    const [session] = await connected;
    // It stops reading, but keeps saying it is alive.
    raw.socket.pause();
    let seq = 0;
    const pinger = setInterval(() => raw.socket.write(encodePing(FrameType.PING, { seq: ++seq, sentAt: Date.now() })), 50);
    try {
      const dropped = waitFor<[Session, ResilientError | undefined]>(ctx.server, 'disconnect');
      for (let i = 0; i < 128; i++) void session.send(Buffer.alloc(256 * 1024, 1)).catch(() => undefined);
      const [, err] = await dropped;
      expect(err?.code).toBe('ERR_SLOW_CONSUMER');
      expect(ctx.server.sweepStats.slowConsumers).toBe(1);
    } finally {
      clearInterval(pinger);
    }
  });
});
