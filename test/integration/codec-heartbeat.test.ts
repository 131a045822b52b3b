/**
 * A codec's heartbeat hooks and delivery modes against a line server on
 * 127.0.0.1 (test/support/line-server.ts): isPong with the seq, answer() to
 * the server's own pings, and delivery 'confirmed' vs 'written'.
 */
import { ResilientClient, lineCodec } from '../../src';
import type { ClientOptions, HandshakeLink } from '../../src';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { LineConn, LineServer } from '../support/line-server';

const PING = { createPing: (seq: number) => `PING ${seq}`, isPong: (m: string) => (/^PONG \d+$/.test(m) ? Number(m.slice(5)) : false) };

describe('codec heartbeat hooks and confirmed delivery', () => {
  const cleanup = useCleanup();

  async function setup(opts: Partial<ClientOptions<string>>): Promise<{ server: LineServer; c: ResilientClient<string> }> {
    const server = new LineServer();
    const port = await server.listen();
    const c = new ResilientClient<string>({
      host: '127.0.0.1',
      port,
      codec: lineCodec(),
      reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' },
      ...opts,
    });
    cleanup.push(() => server.close(), () => c.close());
    return { server, c };
  }
  const linesIn = (conn: LineConn): string[] => conn.log.filter((l) => l.startsWith('<')).map((l) => l.slice(1));

  it('isPong returning the seq gives the RTT, and a numbered PONG answering none of our pings reaches message', async () => {
    const { server, c } = await setup({ heartbeat: { intervalMs: 30, timeoutMs: 10_000, ...PING } });
    const messages = record<[string]>(c, 'message');
    await c.connect();
    const [{ rttMs }] = await waitFor<[{ rttMs: number }]>(c, 'heartbeat');
    expect(rttMs).toBeGreaterThanOrEqual(0);
    // The app's own PING command: its reply names no ping of ours.
    await c.send('PING 999999');
    await waitUntil(c, ['message'], () => messages.length > 0);
    expect(messages.map(([m]) => m)).toEqual(['PONG 999999']);
    expect(server.conns[0]!.log).toContain('<PING 0');
  });

  it("answer() replies to the server's pings at once, in 'inbound' mode and during the handshake; they are never emitted", async () => {
    const server = new LineServer();
    const port = await server.listen();
    // The server pings first and says WELCOME only once answered.
    server.onConnection = (conn) => conn.send('SPING hs');
    server.onLine = (conn, line) => {
      if (line === 'SPONG hs') conn.send('WELCOME');
    };
    const c = new ResilientClient<string>({
      host: '127.0.0.1',
      port,
      codec: lineCodec(),
      heartbeat: { mode: 'inbound', intervalMs: 20_000, timeoutMs: 60_000, answer: (m) => (m.startsWith('SPING ') ? `SPONG ${m.slice(6)}` : undefined) },
      handshake: async (link: HandshakeLink<string>) => void (await link.receive((m) => m === 'WELCOME')),
    });
    cleanup.push(() => server.close(), () => c.close());
    const messages = record<[string]>(c, 'message');
    await c.connect();
    server.conns[0]!.send('SPING idle');
    server.conns[0]!.send('news');
    await waitFor(c, 'message');
    await waitUntil(server, ['line'], () => linesIn(server.conns[0]!).includes('SPONG idle'));
    expect(linesIn(server.conns[0]!)).toEqual(['SPONG hs', 'SPONG idle']);
    expect(messages.map(([m]) => m)).toEqual(['news']);
  });

  it("delivery 'confirmed': send() stays pending until the pong to a barrier ping written after it", async () => {
    const { server, c } = await setup({ delivery: 'confirmed', heartbeat: { intervalMs: 20_000, timeoutMs: 60_000, ...PING } });
    const held: Array<[LineConn, string]> = [];
    server.onLine = (conn, line) => {
      if (line.startsWith('PING ')) held.push([conn, line]);
    };
    await c.connect();
    let settled = false;
    const sent = c.send('SET a').then(() => (settled = true));
    await waitUntil(server, ['line'], () => held.length === 1);
    expect(linesIn(server.conns[0]!)).toEqual(['SET a', 'PING 0']);
    expect(settled).toBe(false);
    expect(c.pending()).toHaveLength(1);
    const [conn, ping] = held[0]!;
    conn.send(`PONG ${ping.slice(5)}`);
    await sent;
    expect(c.pending()).toHaveLength(0);
  });

  it("delivery 'confirmed': a message unconfirmed when the connection drops is written again after the next handshake and resolves once confirmed", async () => {
    const { server, c } = await setup({
      delivery: 'confirmed',
      heartbeat: { intervalMs: 20_000, timeoutMs: 60_000, ...PING },
      handshake: (link) => link.send(`LOGIN ${link.attempt}`),
    });
    server.onLine = (conn, line) => {
      // The first connection answers no ping and dies once the barrier is in.
      if (conn.n === 1 && line.startsWith('PING ')) conn.socket.destroy();
      else if (conn.n > 1 && line.startsWith('PING ')) conn.send(`PONG ${line.slice(5)}`);
    };
    await c.connect();
    let settled = false;
    const sent = c.send('SET a').then(() => (settled = true));
    await waitFor(c, 'close');
    expect(settled).toBe(false);
    await sent;
    expect(linesIn(server.conns[0]!)).toEqual(['LOGIN 1', 'SET a', 'PING 0']);
    expect(linesIn(server.conns[1]!)).toEqual(['LOGIN 2', 'SET a', 'PING 1']);
  });

  it("delivery 'written' (the default) resolves without any pong", async () => {
    const { server, c } = await setup({ heartbeat: { intervalMs: 20_000, timeoutMs: 60_000, ...PING } });
    server.onLine = () => {};
    await c.connect();
    await c.send('SET a');
    await waitUntil(server, ['line'], () => server.conns[0]!.log.length === 1);
    expect(linesIn(server.conns[0]!)).toEqual(['SET a']);
  });
});
