import { ResilientClient, ResilientError } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { FrameType, encodeDataHeader } from '../../src/protocol/frames';
import { waitFor } from '../support/events';
import { RawClient } from '../support/raw-client';
import { serverSockets } from '../support/server-internals';
import { useCleanup } from '../support/lifecycle';

describe('server sessions and slow peers', () => {
  const cleanup = useCleanup();

  it('a disconnected session is kept for sessionTtlMs and resumed without loss or duplicates', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', sessionTtlMs: 60_000 });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5 } });
    cleanup.push(() => client.close(), () => server.close());
    const got: string[] = [];
    client.on('message', (p) => got.push(p.toString()));
    const [session] = await Promise.all([waitFor<[Session]>(server, 'connection').then(([s]) => s), client.connect()]);
    await session.send('before');
    const reopened = waitFor(client, 'open');
    serverSockets(server)[0]!.destroy();
    const [, info] = await waitFor(server, 'connection');
    expect(info.resumed).toBe(true);
    expect((await reopened)[0]).toMatchObject({ resumed: true, sessionId: session.id });
    await session.send('after'); // the same Session object works across the reconnect
    expect(got).toEqual(['before', 'after']);
    expect(server.sessionCount).toBe(1);
  });

  it('a session holds no send window until its first send; a disconnect of one that never sent makes none', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', sessionTtlMs: 60_000 });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: { intervalMs: 20 }, reconnect: { initialDelayMs: 5 } });
    cleanup.push(() => client.close(), () => server.close());
    const [session] = await Promise.all([waitFor<[Session]>(server, 'connection').then(([s]) => s), client.connect()]);
    expect(session.outboundIfAny).toBeUndefined();
    serverSockets(server)[0]!.destroy();
    await waitFor(server, 'connection');
    expect(session.outboundIfAny).toBeUndefined();
    const got = waitFor(client, 'message');
    await session.send('first');
    expect(session.outboundIfAny).toBeDefined();
    expect((await got)[0].toString()).toBe('first');
  });

  it('a session holds no inbound tracker until the first DATA frame; the ACK and the WELCOME of a resume then count from it', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', sessionTtlMs: 60_000 });
    const { port } = await server.listen();
    cleanup.push(() => server.close());
    const first = await RawClient.connect(port);
    cleanup.push(() => first.destroy());
    const connected = waitFor<[Session]>(server, 'connection');
    first.hello({ clientId: 'meter' });
    const [session] = await connected;
    const welcome = JSON.parse((await first.nextFrame(FrameType.WELCOME)).payload.toString());
    expect(welcome.acked).toBe(0);
    expect(session.inboundIfAny).toBeUndefined();
    const got = waitFor(server, 'message');
    first.socket.write(Buffer.concat([encodeDataHeader(1, 2), Buffer.from('hi')]));
    expect((await got)[1].toString()).toBe('hi');
    expect(session.inboundIfAny?.lastDelivered).toBe(1);
    expect((await first.nextFrame(FrameType.ACK)).payload.readUInt32BE(4)).toBe(1);

    first.socket.resetAndDestroy();
    await waitFor(server, 'disconnect');
    const again = await RawClient.connect(port);
    cleanup.push(() => again.destroy());
    again.hello({ clientId: 'meter', sessionId: welcome.sessionId, lastSeen: 0 });
    const w2 = JSON.parse((await again.nextFrame(FrameType.WELCOME)).payload.toString());
    expect(w2).toMatchObject({ resumed: true, acked: 1 });
    const next = waitFor(server, 'message');
    again.socket.write(Buffer.concat([encodeDataHeader(1, 3), Buffer.from('dup'), encodeDataHeader(2, 3), Buffer.from('new')]));
    expect((await next)[1].toString()).toBe('new'); // id 1 was delivered on the first connection
    expect((await again.nextFrame(FrameType.ACK)).payload.readUInt32BE(4)).toBe(2);
    expect(session.messagesIn).toBe(2);
  });

  it('a session not resumed within sessionTtlMs is swept: its pending sends reject with ERR_CLOSED; presenting it later starts a new session', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', sessionTtlMs: 100, sweepIntervalMs: 20 });
    const { port } = await server.listen();
    cleanup.push(() => server.close());
    const first = await RawClient.connect(port);
    cleanup.push(() => first.destroy());
    const connected = waitFor<[Session]>(server, 'connection');
    first.hello({ clientId: 'phone' });
    const [session] = await connected;
    const welcome = JSON.parse((await first.nextFrame(FrameType.WELCOME)).payload.toString());
    const ended = waitFor<[Session, ResilientError]>(server, 'sessionEnd');
    first.socket.resetAndDestroy(); // the client vanishes and does not come back in time
    await waitFor(server, 'disconnect');
    const unsent = session.send('never delivered'); // queued for a resume that never comes
    const [endedSession, reason] = await ended;
    expect(endedSession.id).toBe(welcome.sessionId);
    expect(reason.code).toBe('ERR_CLOSED');
    await expect(unsent).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(session.send('late')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(server.sweepStats.sessionsExpired).toBe(1);
    expect(server.sessionCount).toBe(0);

    const again = await RawClient.connect(port);
    cleanup.push(() => again.destroy());
    again.hello({ clientId: 'phone', sessionId: welcome.sessionId, lastSeen: 0 });
    const w2 = JSON.parse((await again.nextFrame(FrameType.WELCOME)).payload.toString());
    expect(w2.resumed).toBe(false);
    expect(w2.sessionId).not.toBe(welcome.sessionId);
  });

  it('slowloris: a frame trickled byte by byte is closed at frameTimeoutMs although the peer is never idle', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', frameTimeoutMs: 300, idleTimeoutMs: 10_000 });
    const { port } = await server.listen();
    cleanup.push(() => server.close());
    const r = await RawClient.connect(port);
    cleanup.push(() => r.destroy());
    r.hello();
    await r.nextFrame(FrameType.WELCOME);
    const frame = Buffer.concat([encodeDataHeader(1, 100), Buffer.alloc(100)]);
    let i = 0;
    const t0 = performance.now();
    // One byte every 20 ms: at most 113 writes, stopped by the close.
    const trickle = setInterval(() => {
      if (i < frame.length && !r.socket.destroyed) r.socket.write(frame.subarray(i, ++i));
    }, 20);
    cleanup.push(() => clearInterval(trickle));
    await r.closed;
    clearInterval(trickle);
    const took = performance.now() - t0;
    expect(r.errorCode()).toBe('ERR_FRAME_TIMEOUT');
    expect(took).toBeGreaterThanOrEqual(295);
    expect(took).toBeLessThan(300 + 75 + 1500);
    expect(i).toBeLessThan(frame.length); // it never finished the frame
    expect(server.sweepStats.frameTimeouts).toBe(1);
  });
});
