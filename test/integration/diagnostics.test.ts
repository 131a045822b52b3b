/**
 * node:diagnostics_channel: a client run through connect, heartbeat, a
 * message each way and close against a real HeartbeatServer publishes the
 * documented messages (docs/observability.md), payload-free.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { CHANNEL_NAMES } from '../../src/io/diagnostics';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';

type Seen = { channel: string; message: Record<string, unknown> };

/** Subscribes to every channel; returns what was published and the unsubscriber. */
function subscribeAll(): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const subs = Object.values(CHANNEL_NAMES).map((name) => {
    const fn = (message: unknown): void => void seen.push({ channel: name.replace('resilient-tcp:', ''), message: message as Record<string, unknown> });
    diagnosticsChannel.subscribe(name, fn);
    return () => diagnosticsChannel.unsubscribe(name, fn);
  });
  return { seen, stop: () => subs.forEach((u) => u()) };
}

describe('diagnostics_channel', () => {
  const cleanup = useCleanup();

  it('connect, heartbeat, a message each way and close: the client and server channels, in order, without payloads', async () => {
    const tap = subscribeAll();
    cleanup.push(() => tap.stop());
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    server.on('connection', (session) => void session.send('from server'));
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat: { intervalMs: 50, timeoutMs: 1000 } });
    cleanup.push(() => client.close(), () => server.close());
    const got = waitFor(client, 'message');
    await client.connect();
    await got;
    await client.send('from client');
    await waitFor(client, 'heartbeat');
    await client.close();
    await server.close();

    const of = (ch: string): Array<Record<string, unknown>> => tap.seen.filter((s) => s.channel === ch).map((s) => s.message);
    const remote = `127.0.0.1:${port}`;
    expect(of('client:stateChange').map((m) => `${m.from}->${m.to}`)).toEqual(['idle->connecting', 'connecting->open', 'open->closing', 'closing->closed']);
    for (const m of of('client:stateChange')) expect(m.client).toBe(client);
    expect(of('client:connect')).toEqual([{ client, remote, sessionId: client.stats().sessionId, resumed: false, attempt: 0 }]);
    expect(of('client:message')).toEqual([
      { client, direction: 'in', id: 1, bytes: 'from server'.length },
      { client, direction: 'out', id: 1, bytes: 'from client'.length },
    ]);
    const beats = of('client:heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats[0]).toEqual({ client, rttMs: expect.any(Number) });
    expect(of('client:close')).toEqual([{ client, remote, willReconnect: false }]);
    const [accepted] = of('server:connection');
    expect(of('server:connection')).toHaveLength(1);
    expect(accepted).toEqual({ server, remoteAddress: '127.0.0.1', remotePort: expect.any(Number) });
    expect(of('server:connectionClose')).toEqual([{ server, remoteAddress: '127.0.0.1', remotePort: accepted?.remotePort }]);
    // Payload-free: no message carries the bytes sent.
    expect(JSON.stringify(tap.seen.map((s) => ({ ...s.message, client: undefined, server: undefined })))).not.toMatch(/from (server|client)/);
  });

  it('a lost connection: client:close and the failed stateChange carry the code', async () => {
    const tap = subscribeAll();
    cleanup.push(() => tap.stop());
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: false });
    cleanup.push(() => client.close(), () => server.close());
    client.on('error', () => {});
    await client.connect();
    const failed = waitFor(client, 'giveUp');
    await server.close();
    await failed;
    const closes = tap.seen.filter((s) => s.channel === 'client:close').map((s) => s.message);
    expect(closes).toEqual([{ client, remote: `127.0.0.1:${port}`, code: 'ERR_SERVER_BYE', willReconnect: false }]);
    const failedChange = tap.seen.find((s) => s.channel === 'client:stateChange' && s.message.to === 'failed');
    expect(failedChange?.message).toMatchObject({ from: 'open', code: 'ERR_SERVER_BYE' });
  });
});
