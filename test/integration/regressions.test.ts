import { ResilientClient, ResilientError } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { record, waitFor } from '../support/events';
import { RawServer } from '../support/raw-server';
import { useCleanup, freePort } from '../support/lifecycle';

// Behaviours found in review, each pinned by a test.
describe('regressions', () => {
  const cleanup = useCleanup();

  it('destroy() while connecting or reconnecting closes once, without an illegal transition', async () => {
    const port = await freePort();
    const a = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 50 } });
    void a.connect().catch(() => {});
    await waitFor(a, 'reconnecting');
    await a.destroy(new Error('shutting down'));
    expect(a.state).toBe('closed');

    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port: p2 } = await server.listen();
    cleanup.push(() => server.close());
    const b = new ResilientClient({ host: '127.0.0.1', port: p2 });
    const connecting = b.connect();
    const pending = b.send('x');
    await b.destroy();
    await expect(connecting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(b.state).toBe('closed');
  });

  it.each([
    ['close', () => true],
    ['error', () => true],
    ['stateChange', (e: { to: string }) => e.to === 'reconnecting'],
  ] as const)("close() called by a '%s' listener when the server goes away closes the client: no retry, no illegal transition", async (event, when) => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 5 } });
    cleanup.push(() => client.destroy(), () => server.close());
    await client.connect();
    const states = record<[{ from: string; to: string }]>(client, 'stateChange');
    const retries = record(client, 'reconnecting');
    client.on('error', () => {});
    // One listener for the three events: their argument types differ, the test only reads stateChange's.
    const emitter = client as unknown as { on(e: string, f: (arg: { to: string }) => void): void; off(e: string, f: (arg: { to: string }) => void): void };
    const closing = new Promise<void>((resolve) => {
      const on = (e: { to: string }): void => {
        if (!when(e)) return;
        emitter.off(event, on);
        void client.close().then(resolve);
      };
      emitter.on(event, on);
    });
    await server.close();
    await closing;
    expect(client.state).toBe('closed');
    expect(retries).toEqual([]);
    const path = states.map(([e]) => `${e.from}->${e.to}`);
    expect(path[path.length - 1]).toBe('closing->closed');
    expect(path.filter((p) => p.startsWith('reconnecting->connecting'))).toEqual([]);
  });

  it("destroy() of an open client emits 'close'", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    const closes = record(client, 'close');
    await client.destroy();
    expect(closes).toEqual([[{ willReconnect: false }]]);
  });

  it('a server message over 8 KiB sent right after WELCOME arrives (no handshake bound on the client)', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const big = Buffer.alloc(20_000, 7);
    let sent: Promise<void> | undefined;
    server.on('connection', (s) => (sent = s.send(big)));
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    const got = waitFor<[Buffer]>(client, 'message');
    await client.connect();
    expect((await got)[0].equals(big)).toBe(true);
    await sent; // and the client acknowledged it
  });

  it("the server never sends a frame over the client's maxFrameBytes: such a send rejects, the link stays up", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, maxFrameBytes: 1024 });
    cleanup.push(() => client.close(), () => server.close());
    const [session] = await Promise.all([waitFor<[Session]>(server, 'connection').then(([s]) => s), client.connect()]);
    const closes = record(client, 'close');
    await expect(session.send(Buffer.alloc(2000))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' });
    const got = waitFor<[Buffer]>(client, 'message');
    await session.send('small');
    expect((await got)[0].toString()).toBe('small');
    expect(closes).toHaveLength(0);
  });

  it("auth failure is reported once by the server's 'error' event", async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', authenticate: () => false });
    const { port } = await server.listen();
    const errors = record<[ResilientError]>(server, 'error');
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_AUTH' });
    await waitFor(server, 'error', () => true, 2000).catch(() => undefined); // a second one would come now
    expect(errors.map(([e]) => e.code)).toEqual(['ERR_AUTH']);
  });

  it('heartbeat: false against a HeartbeatServer still pings at the server interval, so an idle client is not swept', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', idleTimeoutMs: 300 });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: false });
    cleanup.push(() => client.close(), () => server.close());
    const disconnects = record(server, 'disconnect');
    await client.connect();
    // The definition of the case is a duration: idle for more than three idle timeouts.
    await new Promise((r) => setTimeout(r, 1000));
    expect(disconnects).toHaveLength(0);
    expect(server.sweepStats.idleClosed).toBe(0);
    expect(client.state).toBe('open');
  });

  it('the classifyError option also classifies the SDK own errors (a heartbeat timeout made fatal ends in failed)', async () => {
    const raw = new RawServer({ pong: false });
    const port = await raw.listen();
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      heartbeat: { intervalMs: 50, timeoutMs: 150 },
      classifyError: (err) => ((err as ResilientError).code === 'ERR_HEARTBEAT_TIMEOUT' ? 'fatal' : undefined),
    });
    cleanup.push(() => client.close(), () => raw.close());
    const attempts = record(client, 'reconnecting');
    await client.connect();
    const [err] = await waitFor<[ResilientError]>(client, 'giveUp');
    expect(err).toMatchObject({ code: 'ERR_HEARTBEAT_TIMEOUT', kind: 'fatal' });
    expect(attempts).toHaveLength(0);
  });
});
