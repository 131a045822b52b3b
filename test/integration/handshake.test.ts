/**
 * The per-connection handshake (`handshake(link)`) against real sockets on
 * 127.0.0.1: a line server written here (test/support/line-server.ts) and the
 * real HeartbeatServer for the native protocol.
 */
import { ResilientClient, ResilientError, lineCodec } from '../../src';
import type { ClientOptions, HandshakeLink } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { LineConn, LineServer } from '../support/line-server';
import { serverSockets } from '../support/server-internals';

const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' as const };

describe('handshake(link) on a codec connection', () => {
  const cleanup = useCleanup();

  async function lineServer(): Promise<{ server: LineServer; port: number }> {
    const server = new LineServer();
    const port = await server.listen();
    cleanup.push(() => server.close());
    return { server, port };
  }

  function client(port: number, opts: Partial<ClientOptions<string>>): ResilientClient<string> {
    const c = new ResilientClient<string>({ host: '127.0.0.1', port, codec: lineCodec(), heartbeat: { mode: 'inbound', timeoutMs: 60_000, intervalMs: 20_000 }, reconnect: FAST_RETRY, ...opts });
    cleanup.push(() => c.close());
    return c;
  }

  /** LOGIN n → (a notice no receive wants) WELCOME; the handshake then sends SELECT. */
  const login = async (link: HandshakeLink<string>): Promise<void> => {
    link.send(`LOGIN ${link.attempt}`);
    await link.receive((m) => m === 'WELCOME');
    link.send('SELECT 5');
  };
  const welcomeOnLogin = (c: LineConn, line: string): void => {
    if (!line.startsWith('LOGIN')) return;
    c.send('NOTICE welcome burst');
    c.send('WELCOME');
  };

  it('writes the handshake first and holds the queue until it resolves; unwanted handshake messages are never emitted', async () => {
    const { server, port } = await lineServer();
    server.onLine = welcomeOnLogin;
    const c = client(port, { handshake: login });
    const messages = record<[string]>(c, 'message');
    await c.connect();
    server.conns[0]!.socket.destroy();
    await waitFor(c, 'close');
    // Queued while reconnecting: they must follow LOGIN, the server's WELCOME and SELECT.
    await Promise.all([c.send('SET a'), c.send('SET b'), waitFor(c, 'open')]);
    await waitUntil(server, ['line'], () => server.conns[1]!.log.length >= 6);
    expect(server.conns[1]!.log).toEqual(['<LOGIN 2', '>NOTICE welcome burst', '>WELCOME', '<SELECT 5', '<SET a', '<SET b']);
    server.conns[1]!.send('hello app');
    await waitFor(c, 'message');
    expect(messages.map(([m]) => m)).toEqual(['hello app']);
  });

  it('a fatal throw ends in failed: connect() rejects with it and there is no retry', async () => {
    const { server, port } = await lineServer();
    const c = client(port, {
      handshake: () => {
        throw new ResilientError('ERR_AUTH', 'wrong password', 'fatal');
      },
    });
    const opens = record(c, 'open');
    await expect(c.connect()).rejects.toMatchObject({ code: 'ERR_AUTH', kind: 'fatal' });
    expect(c.state).toBe('failed');
    expect(opens).toHaveLength(0);
    expect(server.conns).toHaveLength(1);
  });

  it('a non-fatal throw is a failed attempt: backoff and retry with link.attempt 1, 2, 3', async () => {
    const { port } = await lineServer();
    const attempts: number[] = [];
    const c = client(port, {
      handshake: (link) => {
        attempts.push(link.attempt);
        if (link.attempt < 3) throw new Error('resync refused');
      },
    });
    const retries = record(c, 'reconnecting');
    await c.connect();
    expect(attempts).toEqual([1, 2, 3]);
    expect(retries).toHaveLength(2);
  });

  it('a server that accepts and closes during the handshake three times: no open until it answers, attempts 1..4, growing backoff', async () => {
    const { server, port } = await lineServer();
    server.onLine = (conn, line) => {
      if (conn.n <= 3) conn.socket.destroy();
      else welcomeOnLogin(conn, line);
    };
    const c = client(port, { handshake: login, reconnect: { initialDelayMs: 20, maxDelayMs: 1000, multiplier: 2, jitter: 'none' } });
    const attempts: number[] = [];
    const opens = record<[{ attempt: number }]>(c, 'open');
    const closes = record(c, 'close');
    const retries = record<[{ delayMs: number }]>(c, 'reconnecting');
    c.on('stateChange', ({ to }) => {
      if (to === 'connecting') attempts.push(attempts.length + 1);
    });
    await c.connect();
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(server.conns.map((x) => x.log[0])).toEqual(['<LOGIN 1', '<LOGIN 2', '<LOGIN 3', '<LOGIN 4']);
    // The first retry after a transient loss goes at once (core/state.ts); then the backoff grows, never reset.
    expect(retries.map(([r]) => r.delayMs)).toEqual([0, 40, 80]);
    expect(opens).toHaveLength(1);
    expect(opens[0]![0].attempt).toBe(3); // the retry count was not reset by the three half-open connections
    expect(closes).toHaveLength(0);
  });

  it('a handshake that outlasts connectTimeoutMs fails with ERR_CONNECT_TIMEOUT and its signal aborts', async () => {
    const { port } = await lineServer();
    let signal: AbortSignal | undefined;
    const c = client(port, {
      connectTimeoutMs: 300,
      reconnect: false,
      handshake: async (link) => {
        signal = link.signal;
        await link.receive((m) => m === 'NEVER');
      },
    });
    await expect(c.connect()).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
    expect(signal?.aborted).toBe(true);
  });

  it('more than 1000 messages no receive takes fail the attempt with ERR_PROTOCOL', async () => {
    const { server, port } = await lineServer();
    server.onLine = (c) => c.send(Array.from({ length: 1001 }, (_, i) => `NOTICE ${i}`).join('\n'));
    const c = client(port, { reconnect: false, handshake: login });
    await expect(c.connect()).rejects.toMatchObject({ code: 'ERR_PROTOCOL' });
  });

  it('close() during the handshake aborts its signal and leaves nothing behind', async () => {
    const { server, port } = await lineServer();
    let signal: AbortSignal | undefined;
    const c = client(port, {
      handshake: async (link) => {
        signal = link.signal;
        link.send('LOGIN');
        await link.receive((m) => m === 'NEVER');
      },
    });
    const connecting = c.connect();
    await waitFor(server, 'line');
    await c.close();
    await expect(connecting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(signal?.aborted).toBe(true);
    expect(c.state).toBe('closed');
  });

  it('link.send after the handshake resolved throws ERR_CLOSED', async () => {
    const { port } = await lineServer();
    let kept: HandshakeLink<string> | undefined;
    const c = client(port, { handshake: (link) => void (kept = link) });
    await c.connect();
    expect(() => kept!.send('late')).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});

describe('handshake(link) on the native protocol', () => {
  const cleanup = useCleanup();

  it('runs after WELCOME on every connection; link.resumed is true when the server kept the session', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', sessionTtlMs: 60_000 });
    const { port } = await server.listen();
    const seen: Array<{ attempt: number; resumed: boolean; got: string }> = [];
    const c = new ResilientClient({
      host: '127.0.0.1',
      port,
      reconnect: FAST_RETRY,
      handshake: async (link) => {
        link.send(Buffer.from(`hello ${link.attempt}`));
        const got = (await link.receive()).toString();
        seen.push({ attempt: link.attempt, resumed: link.resumed, got });
      },
    });
    cleanup.push(() => c.close(), () => server.close());
    server.on('message', (session: Session, payload: Buffer) => void session.send(`ack ${payload.toString()}`).catch(() => undefined));
    const messages = record<[Buffer]>(c, 'message');
    await c.connect();
    const reopened = waitFor(c, 'open');
    serverSockets(server)[0]!.destroy();
    await reopened;
    expect(seen).toEqual([
      { attempt: 1, resumed: false, got: 'ack hello 1' },
      { attempt: 2, resumed: true, got: 'ack hello 2' },
    ]);
    expect(messages).toHaveLength(0);
  });

  it('after a server restart, link.send goes ahead of what was queued during the outage, and the queue waits for the handshake', async () => {
    const first = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await first.listen();
    const logins: number[] = [];
    const c = new ResilientClient({
      host: '127.0.0.1',
      port,
      reconnect: FAST_RETRY,
      handshake: async (link) => {
        link.send(Buffer.from(`login ${link.attempt}`));
        logins.push(link.attempt);
        await link.receive((m) => m.toString() === 'ok');
      },
    });
    const servers = [first];
    cleanup.push(() => c.close(), () => Promise.all(servers.map((s) => s.close())));
    const received: string[] = [];
    const serve = (s: HeartbeatServer): void => {
      s.on('message', (session: Session, payload: Buffer) => {
        const text = payload.toString();
        received.push(text);
        if (text.startsWith('login')) void session.send('ok').catch(() => undefined);
      });
    };
    serve(first);
    await c.connect();
    await c.send('before');
    const lost = waitFor(c, 'close');
    await first.close();
    await lost;
    // Queued while the server is down: written only after the new session's login was answered.
    const queued = [c.send('q1'), c.send('q2'), c.send('q3')];
    const second = new HeartbeatServer({ host: '127.0.0.1', port });
    servers.push(second);
    serve(second);
    const reopened = waitFor<[{ resumed: boolean }]>(c, 'open');
    await second.listen();
    const [info] = await reopened;
    await Promise.all(queued);
    expect(info.resumed).toBe(false);
    const afterRestart = received.slice(received.indexOf('before') + 1);
    // Refused connects during the outage never reach the handshake: one login, then the queue.
    expect(afterRestart).toEqual([`login ${logins.at(-1)}`, 'q1', 'q2', 'q3']);
  });
});
