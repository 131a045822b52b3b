/**
 * A network change (issue 9 item 5): the client's local address leaves its
 * interface, as when a laptop moves from Wi-Fi to Ethernet or a VPN goes down.
 * The HeartbeatServer listens here, on the host end of a veth pair; the
 * ResilientClient runs in its own process inside the namespace
 * (test/fixtures/client-process.ts), so `ip -n <ns> addr del` removes the
 * address its socket is bound to. Linux keeps such a TCP connection (its
 * packets now go to the harness's blackhole route), so only the process-wide
 * network watch (src/io/network-watch.ts) can explain a close well before
 * the heartbeat's 20 s timeout.
 * Without the watch wired (option `networkCheckMs`), the close comes from
 * the heartbeat, ~20 s later, and this test fails.
 */
import { performance } from 'node:perf_hooks';
import type { ClientOptions } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { ClientProcess } from '../support/client-process';
import { createNetnsPair, describeNetns, ip, type NetnsPair } from '../support/netns';

jest.setTimeout(90_000);

/** How often the client reads its interfaces. */
const NETWORK_CHECK_MS = 500;
/** Long, so that a close within NETWORK_CHECK_MS + LOAD_GUARD_MS cannot be the heartbeat's. */
const HEARTBEAT = { intervalMs: 5000, timeoutMs: 20_000 };
/** Room for a loaded 2-core machine on top of an upper bound. */
const LOAD_GUARD_MS = 1500;

describeNetns('network change (network namespace, client address deleted)', () => {
  let pair: NetnsPair | undefined;
  let server: HeartbeatServer | undefined;
  let client: ClientProcess | undefined;
  const report: Record<string, unknown> = {};

  afterEach(async () => {
    await client?.stop();
    await server?.close();
    await pair?.destroy();
    [client, server, pair] = [undefined, undefined, undefined];
  });

  afterAll(() => {
    if (Object.keys(report).length > 0) console.info(`network-change measurements:\n${JSON.stringify(report, null, 2)}`);
  });

  test('deleting the client’s address drops the connection with ERR_NETWORK_CHANGED within networkCheckMs; it reconnects (resumed) once an address is back', async () => {
    pair = await createNetnsPair();
    const p = pair;
    server = new HeartbeatServer({ host: p.hostAddr, idleTimeoutMs: 60_000 });
    const { port } = await server.listen();
    const options: ClientOptions = {
      host: p.hostAddr,
      port,
      heartbeat: HEARTBEAT,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      connectTimeoutMs: 2000,
      networkCheckMs: NETWORK_CHECK_MS,
    };
    client = ClientProcess.start(options, { spawner: p.spawn, ns: p.ns });
    const c = client;
    // tsx compiles the fixture on start: seconds on a loaded machine.
    const opened = await c.next((l) => l.event === 'open', { guardMs: 30_000 });

    const mark = c.lines.length;
    const deletedAt = performance.now();
    await ip(['-n', p.ns, 'addr', 'del', `${p.nsAddr}/30`, 'dev', p.nsIf]);
    const close = await c.next((l) => l.event === 'close', { after: mark, guardMs: HEARTBEAT.timeoutMs + 10_000 });
    const closedMs = close.at - deletedAt;
    report.closedMsAfterAddrDel = Math.round(closedMs);
    report.closeCode = close.code;
    expect(close).toMatchObject({ code: 'ERR_NETWORK_CHANGED', kind: 'network', willReconnect: true });
    expect(closedMs).toBeLessThan(NETWORK_CHECK_MS + LOAD_GUARD_MS);
    // The first retry goes at once (the address may be back already, or another one).
    expect(await c.next((l) => l.event === 'reconnecting', { after: mark })).toMatchObject({ attempt: 1, delayMs: 0 });

    const addedAt = performance.now();
    await ip(['-n', p.ns, 'addr', 'add', `${p.nsAddr}/30`, 'dev', p.nsIf]);
    const reopened = await c.next((l) => l.event === 'open', { after: mark, guardMs: 15_000 });
    report.reopenedMsAfterAddrAdd = Math.round(reopened.at - addedAt);
    expect(reopened).toMatchObject({ sessionId: opened.sessionId, resumed: true });
  });
});
