/**
 * The IRC example (examples/irc/irc-client.ts) on ResilientClient against a
 * real ngircd: NICK/USER, 001 and JOIN on every connection before anything
 * queued is written, the server's PINGs answered, a taken nick handled.
 */
import { IrcClient, type IrcClientOptions, type PrivMsg } from '../../examples/irc/irc-client';
import { lineCodec } from '../../src/index';
import { CodecSocket } from '../support/codec-socket';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { GATED_HOST, gatedLookup } from '../support/real-server-client';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

/** ngircd's smallest PingTimeout and a PongTimeout as short: a silent client is dropped after about 10 s. */
const PING_TIMEOUT_S = 5;
const PONG_TIMEOUT_S = 5;
/** The fault's definition, not a settle time: twice as long as ngircd lets a client go without answering its PING. */
const IDLE_MS = 2 * (PING_TIMEOUT_S + PONG_TIMEOUT_S) * 1000;
/** ngircd answers registration after about a second; our pings at 1/s stay under its flood limit. */
const IRC_RECOVERY = {
  heartbeat: { intervalMs: 1000, timeoutMs: 5000 },
  reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  connectTimeoutMs: 5000,
};

describeRealServers('IRC example client against a real ngircd', ['ngircd'], () => {
  const servers = useRealServers();
  const cleanup = useCleanup();
  let irc: RealServer;
  beforeAll(async () => {
    irc = await servers.ngircd({ pingTimeoutS: PING_TIMEOUT_S, pongTimeoutS: PONG_TIMEOUT_S });
  });

  function client(options: Partial<IrcClientOptions> & { nick: string }): IrcClient {
    const c = new IrcClient({ host: '127.0.0.1', port: irc.port, channels: ['#room'], ...IRC_RECOVERY, ...options });
    c.client.on('error', () => undefined);
    cleanup.push(() => c.close());
    return c;
  }

  test('lines said while the server restarts reach the channel once the client has joined it again', async () => {
    const gate = gatedLookup();
    const alice = client({ nick: 'alice', host: GATED_HOST, lookup: gate.lookup });
    const bob = client({ nick: 'bob' });
    await bob.connect();
    await alice.connect();
    const heard = record<[PrivMsg]>(bob, 'privmsg');

    const lost = [waitFor(alice.client, 'close'), waitFor(bob.client, 'close')];
    gate.close(); // alice comes back only after bob is in the channel again
    await irc.stop();
    await Promise.all(lost);
    const said = [alice.say('#room', 'said while the server was down'), alice.say('#room', 'and a second line')];
    // Listen before the restart: bob may be back (registered and joined) before start() resolves.
    const bobBack = waitFor(bob.client, 'open');
    await irc.start();
    await bobBack; // registered and joined
    gate.open();
    await Promise.all(said);
    await waitUntil(bob, ['privmsg'], () => heard.length === 2);
    expect(heard.map(([m]) => m)).toEqual([
      { from: 'alice', target: '#room', text: 'said while the server was down' },
      { from: 'alice', target: '#room', text: 'and a second line' },
    ]);
  });

  test("the server's PINGs are answered: an idle client outlives ngircd's ping timeout", async () => {
    // Our own pings would keep the link busy and ngircd would never PING: make them rarer than the idle period.
    const quiet = { heartbeat: { intervalMs: 3 * IDLE_MS, timeoutMs: 6 * IDLE_MS } };
    const dave = client({ nick: 'dave', channels: ['#idle'], ...quiet });
    const erin = client({ nick: 'erin', channels: ['#idle'], ...quiet });
    await Promise.all([dave.connect(), erin.connect()]);
    const closes = [record(dave.client, 'close'), record(erin.client, 'close')];
    const bytesIn = dave.client.stats().bytesIn;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    expect(closes).toEqual([[], []]);
    expect(dave.client.stats().bytesIn).toBeGreaterThan(bytesIn); // the server's PINGs arrived (and were not emitted)

    const heard = waitFor<[PrivMsg]>(erin, 'privmsg');
    await dave.say('#idle', 'still here');
    expect((await heard)[0]).toEqual({ from: 'dave', target: '#idle', text: 'still here' });
  }, 60_000);

  test('a nick held by our own stale connection: a fallback nick, then the nick back when the stale one quits', async () => {
    const stale = await CodecSocket.connect(irc.port, lineCodec({ delimiter: '\r\n' }));
    cleanup.push(() => stale.destroy());
    stale.send('NICK carol', 'USER carol 0 * :the old connection', 'JOIN #room');
    await stale.next((l) => /^:carol!\S+ JOIN :?#room$/.test(l));

    const carol = client({ nick: 'carol' });
    const nicks = record<[string]>(carol, 'nick');
    await carol.connect();
    expect(carol.nick).toBe('carol_');
    await stale.destroy(); // the server reports the old connection's QUIT to #room
    await waitUntil(carol, ['nick'], () => carol.nick === 'carol');
    expect(nicks.map(([n]) => n)).toEqual(['carol_', 'carol']);
  });
});
