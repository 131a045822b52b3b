import type { Socket } from 'node:net';
import { ResilientClient, ResilientError, baseDelay } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { record, waitFor } from '../support/events';
import { RawServer } from '../support/raw-server';
import { FrameType, encodeFrame } from '../../src/protocol/frames';
import { freePort, useCleanup, useServerWithRawClients } from '../support/lifecycle';

describe('reconnect', () => {
  const cleanup = useCleanup();

  it('server stopped: close + reconnecting with ECONNREFUSED within the backoff bounds; restarted on the same port: open again, queued messages arrive', async () => {
    let server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const reconnect = { initialDelayMs: 20, maxDelayMs: 160, multiplier: 2, jitter: 'full' as const };
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    const closes = record(client, 'close');
    const attempts = record<[{ attempt: number; delayMs: number; error: ResilientError }]>(client, 'reconnecting');

    await server.close();
    // Enough refused attempts to see the backoff grow.
    await waitFor(client, 'reconnecting', (e: { attempt: number; error: ResilientError }) => e.attempt >= 5 && e.error.code === 'ECONNREFUSED');
    expect(closes[0]?.[0]).toMatchObject({ willReconnect: true });
    expect(closes[0]?.[0].error).toMatchObject({ code: 'ERR_SERVER_BYE', kind: 'unavailable' }); // the server said BYE
    // A server going away: even the first retry is jittered, so a restart meets no herd.
    expect(attempts[0]?.[0]).toMatchObject({ attempt: 1 });
    expect(attempts[0]?.[0].delayMs).toBeLessThanOrEqual(baseDelay(reconnect, 0));
    for (const [e] of attempts.slice(1)) {
      expect(e.error.code).toBe('ECONNREFUSED');
      expect(e.error.kind).toBe('unavailable');
      expect(e.delayMs).toBeGreaterThanOrEqual(0);
      expect(e.delayMs).toBeLessThanOrEqual(baseDelay(reconnect, e.attempt - 1));
    }
    const meanwhile = client.send('sent while the server was down');

    server = new HeartbeatServer({ host: '127.0.0.1', port });
    const got = waitFor(server, 'message');
    await server.listen();
    const [open] = await waitFor(client, 'open');
    expect(open.resumed).toBe(false); // a new server process: the session is new
    expect((await got)[1].toString()).toBe('sent while the server was down');
    await meanwhile;
    expect(client.state).toBe('open');
    expect(client.stats().reconnects).toBe(1);
  });

  it('maxRetries: 3 with nothing listening: exactly 3 retries, giveUp, connect() rejects with ERR_RETRIES_EXHAUSTED', async () => {
    const port = await freePort();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { maxRetries: 3, initialDelayMs: 5, maxDelayMs: 20 } });
    cleanup.push(() => client.close());
    const attempts = record(client, 'reconnecting');
    const giveUps = record<[ResilientError]>(client, 'giveUp');
    const pending = client.send('never delivered');
    await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED' });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED' });
    expect(attempts.map(([e]) => e.attempt)).toEqual([1, 2, 3]);
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]?.[0].cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(client.state).toBe('failed');
    expect(client.pending().map(String)).toEqual(['never delivered']);
  });

  it('a peer that accepts and never answers: ERR_HEARTBEAT_TIMEOUT within timeoutMs (+ one tick), then reconnect', async () => {
    const raw = new RawServer({ welcome: false });
    const port = await raw.listen();
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      heartbeat: { intervalMs: 100, timeoutMs: 300 },
      reconnect: { initialDelayMs: 10, maxDelayMs: 10 },
    });
    cleanup.push(() => client.close(), () => raw.close());
    let acceptedAt = 0;
    raw.server.once('connection', () => (acceptedAt = performance.now()));
    void client.connect().catch(() => {});
    const [e] = await waitFor(client, 'reconnecting');
    const took = performance.now() - acceptedAt;
    expect(e.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    // 25 ms of slack: the WELCOME's read and this 'open' listener are two clock reads that a
    // loaded machine can preempt between (7 ms seen at load average 13).
    expect(took).toBeGreaterThanOrEqual(300 - 25);
    expect(took).toBeLessThan(300 + 100 + 1000); // + one tick, + a generous guard for a loaded machine
    await waitFor(raw.server, 'connection'); // it did reconnect
  });

  it('a peer that welcomes and then goes silent: ERR_HEARTBEAT_TIMEOUT counted from the last inbound frame', async () => {
    const raw = new RawServer({ pong: false });
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: { intervalMs: 100, timeoutMs: 300 }, reconnect: { initialDelayMs: 10 } });
    cleanup.push(() => client.close(), () => raw.close());
    // Stamped in the same tick as the WELCOME (the last inbound frame), not after the
    // connect() promise settles, which a loaded machine may delay.
    let openedAt = 0;
    client.once('open', () => (openedAt = performance.now()));
    let closedAt = 0;
    const closing = waitFor(client, 'close').then((r) => ((closedAt = performance.now()), r));
    await client.connect();
    const [closeEvent] = await closing;
    const took = closedAt - openedAt;
    expect(closeEvent.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(closeEvent.willReconnect).toBe(true);
    // 25 ms of slack: the WELCOME's read and this 'open' listener are two clock reads that a
    // loaded machine can preempt between (7 ms seen at load average 13).
    expect(took).toBeGreaterThanOrEqual(300 - 25);
    expect(took).toBeLessThan(300 + 100 + 1000);
    // the pings were sent and went unanswered
    expect(raw.frames.filter((f) => f.frame.type === FrameType.PING).length).toBeGreaterThanOrEqual(2);
  });

  it('without heartbeats, a silent handshake ends at connectTimeoutMs with ERR_CONNECT_TIMEOUT', async () => {
    const raw = new RawServer({ welcome: false });
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: false, connectTimeoutMs: 200, reconnect: false });
    cleanup.push(() => client.close(), () => raw.close());
    const t0 = performance.now();
    await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT', kind: 'unavailable' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(195);
  });

  it('RST from the peer: ECONNRESET, first retry at once, then open again', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 1000 } });
    cleanup.push(() => client.close(), () => raw.close());
    await client.connect();
    const [sock] = [...raw.sockets];
    const retry = waitFor(client, 'reconnecting');
    const closed = waitFor(client, 'close');
    sock!.resetAndDestroy();
    const [c] = await closed;
    expect(c.error.code).toBe('ECONNRESET');
    expect(c.error.kind).toBe('transient');
    const [r] = await retry;
    expect(r).toMatchObject({ attempt: 1, delayMs: 0 });
    await waitFor(client, 'open');
  });

  it.each([
    { resetAfterMs: 0, stable: true },
    { resetAfterMs: 3_600_000, stable: false },
  ])('a connection lost after being open resetAfterMs ($resetAfterMs ms) starts the retry count again: $stable', async ({ resetAfterMs, stable }) => {
    const raw = new RawServer();
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5, maxDelayMs: 10, resetAfterMs } });
    cleanup.push(() => client.close(), () => raw.close());
    // Each loss is an RST from the socket the server welcomed last.
    let welcomed = waitFor<[Socket]>(raw.server, 'welcomed');
    await client.connect();
    const attempts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const [sock] = await welcomed;
      welcomed = waitFor<[Socket]>(raw.server, 'welcomed');
      const retry = waitFor(client, 'reconnecting');
      sock.resetAndDestroy();
      attempts.push((await retry)[0].attempt);
      await waitFor(client, 'open');
      expect(client.stats().retries).toBe(stable ? 0 : i + 1);
    }
    // Stable: every loss is a first retry again (immediate after a reset). Not: the count goes on.
    expect(attempts).toEqual(stable ? [1, 1] : [1, 2]);
  });

  it('auth rejected: failed, no retry, connect() rejects with ERR_AUTH', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', authenticate: ({ token }) => token === 'good' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, token: 'bad' });
    cleanup.push(() => client.close(), () => server.close());
    const attempts = record(client, 'reconnecting');
    await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_AUTH', kind: 'fatal' });
    expect(client.state).toBe('failed');
    expect(attempts).toHaveLength(0);

    const good = new ResilientClient({ host: '127.0.0.1', port, token: 'good' });
    cleanup.push(() => good.close());
    await good.connect();
    expect(server.connections()).toHaveLength(1);
  });

  it('async authenticate receives the credentials and the peer address', async () => {
    const seen: unknown[] = [];
    const server = new HeartbeatServer({
      host: '127.0.0.1',
      authenticate: async (cred, peer) => {
        seen.push([cred, peer.remoteAddress]);
        return true;
      },
    });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, token: 't', clientId: 'me' });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    expect(seen).toEqual([[{ clientId: 'me', token: 't' }, '127.0.0.1']]);
  });

  it('garbage from the server: ERR_PROTOCOL / ERR_FRAME_TOO_LARGE, the connection is dropped, the client retries', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
    cleanup.push(() => client.close(), () => raw.close());
    await client.connect();
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    let closed = waitFor(client, 'close');
    [...raw.sockets][0]!.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 5]));
    expect((await closed)[0].error.code).toBe('ERR_FRAME_TOO_LARGE');
    // nothing was allocated for the 4 GiB length
    expect(process.memoryUsage().arrayBuffers - arrayBuffersBefore).toBeLessThan(1 << 20);
    await waitFor(client, 'open');
    closed = waitFor(client, 'close');
    [...raw.sockets].at(-1)!.write(encodeFrame(99 as never, Buffer.from('x')));
    expect((await closed)[0].error.code).toBe('ERR_PROTOCOL');
    await waitFor(client, 'open');
  });
});

describe('HeartbeatServer hardening', () => {
  const rig = useServerWithRawClients({ idleTimeoutMs: 300, handshakeTimeoutMs: 300, maxConnections: 3 });
  const raw = rig.raw;

  it.each([
    ['a 0xFFFFFFFF length', Buffer.from([0xff, 0xff, 0xff, 0xff]), 'ERR_FRAME_TOO_LARGE'],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'ERR_FRAME_TOO_LARGE'],
    ['a zero length', Buffer.from([0, 0, 0, 0]), 'ERR_PROTOCOL'],
    ['an unknown type', Buffer.from([0, 0, 0, 1, 42]), 'ERR_PROTOCOL'],
    ['a PING before HELLO', encodeFrame(FrameType.PING, Buffer.alloc(12)), 'ERR_PROTOCOL'],
    ['a HELLO that is not JSON', encodeFrame(FrameType.HELLO, Buffer.from('{{')), 'ERR_PROTOCOL'],
    ['a HELLO of another version', encodeFrame(FrameType.HELLO, Buffer.from('{"v":9,"clientId":"x","heartbeatMs":0}')), 'ERR_PROTOCOL_VERSION'],
  ])('%s gets an ERROR frame and that connection alone is closed', async (_name, bytes, code) => {
    const good = await raw();
    good.hello();
    await good.nextFrame(FrameType.WELCOME);
    const bad = await raw();
    bad.socket.write(bytes);
    await bad.closed;
    expect(bad.errorCode()).toBe(code);
    // the well-behaved connection is untouched
    good.socket.write(encodeFrame(FrameType.PING, Buffer.alloc(12)));
    await good.nextFrame(FrameType.PONG);
    expect(rig.server.connections()).toHaveLength(1);
  });

  it('a HELLO larger than the handshake bound is refused before auth', async () => {
    const r = await raw();
    r.hello({ token: 'x'.repeat(20_000) });
    await r.closed;
    expect(r.errorCode()).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('closes a connection silent for idleTimeoutMs (+ one sweep tick)', async () => {
    const r = await raw();
    r.hello();
    await r.nextFrame(FrameType.WELCOME);
    const t0 = performance.now();
    await r.closed;
    const took = performance.now() - t0;
    // 25 ms of slack: the WELCOME's read and this 'open' listener are two clock reads that a
    // loaded machine can preempt between (7 ms seen at load average 13).
    expect(took).toBeGreaterThanOrEqual(300 - 25);
    expect(took).toBeLessThan(300 + 75 + 1000);
    expect(rig.server.sweepStats.idleClosed).toBe(1);
    expect(rig.server.connections()).toHaveLength(0);
  });

  it('closes a connection that sends no HELLO within handshakeTimeoutMs', async () => {
    const r = await raw();
    await r.closed;
    expect(r.errorCode()).toBe('ERR_HANDSHAKE_TIMEOUT');
  });

  it('refuses connections over maxConnections with ERR_SERVER_FULL', async () => {
    const ok = await Promise.all([raw(), raw(), raw()]);
    for (const r of ok) r.hello();
    await Promise.all(ok.map((r) => r.nextFrame(FrameType.WELCOME)));
    const extra = await raw();
    await extra.closed;
    expect(extra.errorCode()).toBe('ERR_SERVER_FULL');
    expect(rig.server.socketCount).toBe(3);
  });

  it('session takeover: a reconnect presenting the session closes the older connection at once; the session is listed once', async () => {
    const client = new ResilientClient({ host: '127.0.0.1', port: rig.port, clientId: 'phone' });
    await client.connect();
    const sessionId = client.stats().sessionId as string;
    const closed = waitFor(client, 'close');
    const r = await raw();
    r.hello({ clientId: 'phone', sessionId });
    const welcome = JSON.parse((await r.nextFrame(FrameType.WELCOME)).payload.toString());
    expect(welcome).toMatchObject({ sessionId, resumed: true });
    const [c] = await closed; // at once, not after an idle timeout
    expect(c.error.code).toBe('ERR_SESSION_TAKEN_OVER');
    const rows = rig.server.connections();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: sessionId, clientId: 'phone', remotePort: r.socket.localPort });
    await client.close();
  });

  it('a session id presented with another clientId is not resumed', async () => {
    const client = new ResilientClient({ host: '127.0.0.1', port: rig.port, clientId: 'a' });
    await client.connect();
    const r = await raw();
    r.hello({ clientId: 'b', sessionId: client.stats().sessionId });
    const welcome = JSON.parse((await r.nextFrame(FrameType.WELCOME)).payload.toString());
    expect(welcome.sessionId).not.toBe(client.stats().sessionId);
    expect(rig.server.connections()).toHaveLength(2);
    await client.close();
  });
});
