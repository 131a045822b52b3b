import * as net from 'node:net';
import { ResilientClient, ResilientError, lineCodec } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { record, waitFor, waitUntil } from '../support/events';
import { selfSignedCert } from '../support/tls-cert';
import { useCleanup, freePort } from '../support/lifecycle';

/** A plain newline server, no HeartbeatServer: answers `PING n` with `PONG n`, echoes other lines upper-cased. */
class LineServer {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  silent = false;
  lines: string[] = [];
  constructor() {
    this.server = net.createServer((s) => {
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => this.sockets.delete(s));
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.lines.push(line);
          this.server.emit('line', line);
          if (this.silent) continue;
          const m = /^PING (\d+)$/.exec(line);
          s.write(m ? `PONG ${m[1]}\n` : `${line.toUpperCase()}\n`);
        }
      });
    });
  }
  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('product features', () => {
  const cleanup = useCleanup();

  describe('TLS', () => {
    const { key, cert } = selfSignedCert();

    it('round trip over TLS with a trusted certificate', async () => {
      const server = new HeartbeatServer({ host: '127.0.0.1', tls: { key, cert } });
      const { port } = await server.listen();
      const client = new ResilientClient({ host: 'localhost', port, tls: { ca: cert } });
      cleanup.push(() => client.close(), () => server.close());
      const got = waitFor(server, 'message');
      await client.connect();
      await client.send('secret');
      expect((await got)[1].toString()).toBe('secret');
    });

    it('an untrusted certificate is fatal (ERR_TLS_CERT): no retry loop', async () => {
      const server = new HeartbeatServer({ host: '127.0.0.1', tls: { key, cert } });
      const { port } = await server.listen();
      const client = new ResilientClient({ host: 'localhost', port, tls: true });
      cleanup.push(() => client.close(), () => server.close());
      const attempts = record(client, 'reconnecting');
      await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_TLS_CERT', kind: 'fatal' });
      expect(client.state).toBe('failed');
      expect(attempts).toHaveLength(0);
    });
  });

  describe('endpoints', () => {
    it('fails over to the next endpoint when the first is down, in order', async () => {
      const deadPort = await freePort();
      const server = new HeartbeatServer({ host: '127.0.0.1' });
      const { port } = await server.listen();
      const client = new ResilientClient({
        endpoints: [
          { host: '127.0.0.1', port: deadPort },
          { host: '127.0.0.1', port },
        ],
        reconnect: { initialDelayMs: 5, maxDelayMs: 10 },
      });
      cleanup.push(() => client.close(), () => server.close());
      const attempts = record<[{ error: ResilientError }]>(client, 'reconnecting');
      await client.connect();
      expect(attempts.map(([e]) => e.error.code)).toEqual(['ECONNREFUSED']);
      expect(server.connections()).toHaveLength(1);
    });

    it('randomize: true spreads first attempts over the endpoints', async () => {
      const servers = [new HeartbeatServer({ host: '127.0.0.1' }), new HeartbeatServer({ host: '127.0.0.1' })];
      const ports = await Promise.all(servers.map(async (s) => (await s.listen()).port));
      cleanup.push(() => Promise.all(servers.map((s) => s.close())));
      let r = 0;
      const randoms = [0.1, 0.9, 0.1, 0.9]; // deterministic shuffles
      const clients = [0, 1].map(
        () =>
          new ResilientClient({
            endpoints: ports.map((port) => ({ host: '127.0.0.1', port })),
            randomize: true,
            random: () => randoms[r++ % randoms.length] as number,
          }),
      );
      cleanup.push(() => Promise.all(clients.map((c) => c.close())));
      await Promise.all(clients.map((c) => c.connect()));
      expect(servers.map((s) => s.connections().length).sort()).toEqual([1, 1]);
    });
  });

  describe('foreign protocols with a codec', () => {
    it('lineCodec against a plain newline server: messages, heartbeats, silence detected, reconnect', async () => {
      const line = new LineServer();
      const port = await line.listen();
      const client = new ResilientClient<string>({
        host: '127.0.0.1',
        port,
        codec: lineCodec({ maxLineBytes: 1024 }),
        heartbeat: { intervalMs: 50, timeoutMs: 300, createPing: (seq) => `PING ${seq}`, isPong: (m) => m.startsWith('PONG ') },
        reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
      });
      cleanup.push(() => client.close(), () => line.close());
      const messages = record<[string]>(client, 'message');
      await client.connect();
      await client.send('hello'); // resolves once written: no acks in a foreign protocol
      await waitUntil(client, ['message'], () => messages.length > 0);
      expect(messages[0]?.[0]).toBe('HELLO');
      await waitUntil(client, ['heartbeat'], () => (client.stats().lastRttMs ?? -1) >= 0);
      expect(line.lines.some((l) => /^PING \d+$/.test(l))).toBe(true);
      expect(messages.every(([m]) => !m.startsWith('PONG'))).toBe(true); // pongs are not messages

      line.silent = true; // the server stops answering
      const [c] = await waitFor(client, 'close');
      expect(c.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
      line.silent = false;
      await waitFor(client, 'open');
      await client.send('again');
      await waitUntil(client, ['message'], () => messages.some(([m]) => m === 'AGAIN'));
    });

    it("heartbeat.mode 'inbound': any inbound bytes count as liveness, no pings are sent", async () => {
      const line = new LineServer();
      const port = await line.listen();
      const client = new ResilientClient<string>({ host: '127.0.0.1', port, codec: lineCodec(), heartbeat: { intervalMs: 50, timeoutMs: 200, mode: 'inbound' }, reconnect: false });
      cleanup.push(() => client.close(), () => line.close());
      // Silence starts when the link opens, which is after this line: timed from here, the
      // verdict can never come before timeoutMs, however the machine schedules us.
      const t0 = performance.now();
      await client.connect();
      await expect(waitFor(client, 'close').then(([c]) => c.error.code)).resolves.toBe('ERR_HEARTBEAT_TIMEOUT');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(200 - 2); // 2 ms: clock rounding
      expect(line.lines).toEqual([]);
    });

    it('a line over maxLineBytes closes the connection with ERR_FRAME_TOO_LARGE', async () => {
      const server = net.createServer((s) => {
        s.on('error', () => {});
        s.write('x'.repeat(5000));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      const client = new ResilientClient<string>({ host: '127.0.0.1', port, codec: lineCodec({ maxLineBytes: 1000 }), heartbeat: false, reconnect: false });
      cleanup.push(() => client.close(), () => new Promise<void>((r) => { server.close(() => r()); server.getConnections(() => undefined); }));
      const closed = waitFor(client, 'close');
      await client.connect();
      expect((await closed)[0].error.code).toBe('ERR_FRAME_TOO_LARGE');
    });

    it('invalid codec options throw a TypeError naming the option', () => {
      expect(() => new ResilientClient<string>({ port: 1, codec: lineCodec(), heartbeat: { intervalMs: 10, timeoutMs: 30 } })).toThrow(/options\.heartbeat\.createPing/);
      expect(() => new ResilientClient({ port: 1, codec: {} as never })).toThrow(/options\.codec/);
      expect(() => new ResilientClient({ port: 1, heartbeat: { mode: 'inbound' } })).toThrow(/only with a codec/);
      expect(() => lineCodec({ maxLineBytes: 0 })).toThrow(/maxLineBytes/);
    });
  });

  describe('API comforts', () => {
    it('AbortSignal on connect() and send(); waitFor(); closed(); logger lines; the signal option closes the client', async () => {
      const server = new HeartbeatServer({ host: '127.0.0.1' });
      const { port } = await server.listen();
      const lines: string[] = [];
      const logger = { debug: () => {}, info: (_f: object, m: string) => lines.push(m), warn: (_f: object, m: string) => lines.push(m), error: () => {} };
      const life = new AbortController();
      const client = new ResilientClient({ host: '127.0.0.1', port, logger, signal: life.signal });
      cleanup.push(() => client.close(), () => server.close());

      const early = new AbortController();
      early.abort();
      await expect(client.connect({ signal: early.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });

      const queuedAbort = new AbortController();
      const withdrawn = client.send('never', { signal: queuedAbort.signal });
      queuedAbort.abort(); // not yet written: withdrawn
      await expect(withdrawn).rejects.toMatchObject({ code: 'ERR_ABORTED' });

      const opened = client.waitFor('open');
      await client.connect();
      await opened;
      expect(client.pending()).toEqual([]);

      const waitAbort = new AbortController();
      const waiting = client.waitFor('reconnecting', { signal: waitAbort.signal });
      waitAbort.abort();
      await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });

      const closed = client.closed();
      life.abort(); // the client's own signal closes it
      await closed;
      expect(client.state).toBe('closed');
      expect(lines).toEqual(['idle -> connecting', 'connecting -> open', 'open -> closing', 'closing -> closed']);
    });

    it('close({ signal }): aborting turns a graceful close that waits for acks into destroy()', async () => {
      const server = new HeartbeatServer({ host: '127.0.0.1' });
      const { port: serverPort } = await server.listen();
      const { FaultProxy } = await import('../support/fault-proxy');
      const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: serverPort } });
      const { port } = await proxy.listen();
      const client = new ResilientClient({ host: '127.0.0.1', port, closeTimeoutMs: 60_000 });
      cleanup.push(() => server.close(), () => proxy.close(), () => client.close());
      await client.connect();
      proxy.blackhole('both'); // the ack never comes: a graceful close would wait 60 s
      const unacked = client.send('x');
      const ac = new AbortController();
      const closing = client.close({ signal: ac.signal });
      ac.abort();
      await closing;
      expect(client.state).toBe('closed');
      await expect(unacked).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    });

    it('unref: a reconnecting client does not keep the process alive by its timers', async () => {
      const port = await freePort();
      const client = new ResilientClient({ host: '127.0.0.1', port, unref: true, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } });
      cleanup.push(() => client.close());
      const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      void client.connect().catch(() => {});
      await waitFor(client, 'reconnecting');
      expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(before);
    });

    it('deadAfterMs sets heartbeat and keepalive together; stats() reports the layers', async () => {
      const server = new HeartbeatServer({ host: '127.0.0.1' });
      const { port } = await server.listen();
      const client = new ResilientClient({ host: '127.0.0.1', port, deadAfterMs: 3000 });
      cleanup.push(() => client.close(), () => server.close());
      await client.connect();
      const layers = client.stats().layers;
      expect(layers.heartbeat).toBe(true);
      expect(layers.keepAliveMs).toBe(3000);
      // TCP_USER_TIMEOUT is set only where the optional net-keepalive package loads.
      let hasNetKeepalive = true;
      try {
        require.resolve('net-keepalive');
      } catch {
        hasNetKeepalive = false;
      }
      expect(layers.userTimeoutMs).toBe(hasNetKeepalive && process.platform === 'linux' ? 3000 : false);
      if (layers.userTimeoutMs !== false) {
        // The kernel really has it: read TCP_USER_TIMEOUT back from the socket.
        const nk = require('net-keepalive') as { getUserTimeout(s: net.Socket): number };
        expect(nk.getUserTimeout((client as unknown as { life: { link: { socket: net.Socket } } }).life.link.socket)).toBe(3000);
      }
      expect(() => new ResilientClient({ port: 1, deadAfterMs: 3000, heartbeat: { intervalMs: 100 } })).toThrow(/deadAfterMs/);
    });
  });
});
