import { ResilientClient } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { FaultProxy } from '../support/fault-proxy';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';

describe('faults injected by the proxy', () => {
  const cleanup = useCleanup();

  async function rig(heartbeat: { intervalMs: number; timeoutMs: number }) {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port: serverPort } = await server.listen();
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: serverPort } });
    const { port } = await proxy.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, heartbeat, reconnect: { initialDelayMs: 10, maxDelayMs: 50 } });
    cleanup.push(() => server.close(), () => proxy.close(), () => client.close());
    return { server, proxy, client };
  }

  it('a round-trip latency of half the heartbeat timeout causes no false disconnect', async () => {
    const { proxy, client } = await rig({ intervalMs: 50, timeoutMs: 500 });
    await client.connect();
    // 125 ms each way: every pong comes 250 ms late. Any inbound frame counts as
    // life, so the longest silence is the round trip plus one interval (300 ms),
    // under the 500 ms budget, with 200 ms left for a loaded machine's scheduling.
    // (A round trip equal to the timeout would not leave that room: see docs/tuning.md.)
    proxy.setLatency('both', 125);
    const closes = record(client, 'close');
    const beats = record<[{ rttMs: number }]>(client, 'heartbeat');
    await waitUntil(client, ['heartbeat'], () => beats.filter(([b]) => b.rttMs >= 245).length >= 10);
    expect(closes).toHaveLength(0);
    expect(client.state).toBe('open');
  });

  it('a cut in the middle of a frame delivers no partial message; the whole one arrives once after the reconnect', async () => {
    const { server, proxy, client } = await rig({ intervalMs: 1000, timeoutMs: 3000 });
    const got = record<[Session, Buffer]>(server, 'message');
    await client.connect();
    const big = Buffer.alloc(100_000, 0x5a);
    proxy.limitData('upstream', 50_000); // the connection is cut half way through the frame
    const closed = waitFor(client, 'close');
    const sent = client.send(big);
    await closed;
    expect(got).toHaveLength(0); // nothing partial was delivered
    proxy.clearFaults();
    await waitFor(client, 'open');
    await sent;
    expect(got).toHaveLength(1);
    expect(got[0]![1].equals(big)).toBe(true);
  });
});
