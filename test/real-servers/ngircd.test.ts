/**
 * The harness and CRLF lines (`lineCodec({ delimiter: '\r\n' })`, as IRC
 * requires: RFC 2812 §2.3) against a real ngircd: plain sockets, no
 * ResilientClient.
 */
import { CodecSocket, useCodecSockets } from '../support/codec-socket';
import { lineCodec } from '../../src/index';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

/** ngircd's smallest PingTimeout: it PINGs a client silent for this long (checked about once a second). */
const PING_TIMEOUT_S = 5;
const PONG_TIMEOUT_S = 5;
const SERVER_NAME = 'irc.rtcp.test';

describeRealServers('ngircd through CRLF lines', ['ngircd'], () => {
  const servers = useRealServers();
  const sockets = useCodecSockets();
  let irc: RealServer;
  beforeAll(async () => {
    irc = await servers.ngircd({ pingTimeoutS: PING_TIMEOUT_S, pongTimeoutS: PONG_TIMEOUT_S, name: SERVER_NAME });
  });

  /** A registered client (NICK/USER answered by 001) that has joined `channel`. */
  async function joined(nick: string, channel: string): Promise<CodecSocket<string>> {
    const s = await sockets.open(irc.port, lineCodec({ delimiter: '\r\n' }));
    s.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick} of resilient-tcp`);
    expect(await s.next((l) => / 001 /.test(l))).toMatch(new RegExp(`^:${SERVER_NAME} 001 ${nick} :Welcome`));
    s.send(`JOIN ${channel}`);
    await s.next((l) => new RegExp(`^:${nick}!\\S+ JOIN :?${channel}$`).test(l));
    return s;
  }

  test('NICK/USER is answered by 001, JOIN by our own JOIN line; a taken nick gets 433', async () => {
    await joined('alice', '#room');
    const twin = await sockets.open(irc.port, lineCodec({ delimiter: '\r\n' }));
    twin.send('NICK alice', 'USER alice 0 * :twin');
    expect(await twin.next((l) => / 433 /.test(l))).toMatch(/ 433 \* alice :Nickname already in use/);
  });

  test('two clients in a channel see each other\'s PRIVMSG', async () => {
    const bob = await joined('bob', '#chat');
    const carol = await joined('carol', '#chat');
    await bob.next((l) => /^:carol!\S+ JOIN :?#chat$/.test(l));
    bob.send('PRIVMSG #chat :hi carol');
    expect(await carol.next((l) => l.includes('PRIVMSG'))).toMatch(/^:bob!\S+ PRIVMSG #chat :hi carol$/);
    carol.send('PRIVMSG #chat :hi bob, ünïcode ok');
    expect(await bob.next((l) => l.includes('PRIVMSG'))).toMatch(/^:carol!\S+ PRIVMSG #chat :hi bob, ünïcode ok$/);
  });

  test('the server PINGs a silent client after its ping timeout; a PONG keeps the connection', async () => {
    const dave = await joined('dave', '#idle');
    const waitMs = (PING_TIMEOUT_S + PONG_TIMEOUT_S + 5) * 1000;
    const ping = await dave.next((l) => l.startsWith('PING '), waitMs);
    expect(ping).toBe(`PING :${SERVER_NAME}`);
    dave.send(`PONG ${ping.slice(5)}`);
    // Still registered after the pong deadline: the next ping comes, not an ERROR and a close.
    const again = await dave.next((l) => l.startsWith('PING ') || l.startsWith('ERROR'), waitMs);
    expect(again).toBe(`PING :${SERVER_NAME}`);
    dave.send(`PONG ${again.slice(5)}`, 'PRIVMSG #idle :still here');
    dave.send('PING :rt1');
    expect(await dave.next((l) => / PONG /.test(l))).toBe(`:${SERVER_NAME} PONG ${SERVER_NAME} :rt1`);
  }, 60_000);

  test('without a PONG the server drops the client with ERROR', async () => {
    const erin = await joined('erin', '#idle');
    await erin.next((l) => l.startsWith('PING '), (PING_TIMEOUT_S + 5) * 1000);
    const error = await erin.next((l) => l.startsWith('ERROR'), (PONG_TIMEOUT_S + 5) * 1000);
    expect(error).toMatch(/^ERROR :.*[Pp]ing timeout/);
    await erin.closed;
  }, 60_000);

  test('after a restart on the same port a client registers and joins again', async () => {
    const before = await joined('frank', '#back');
    await irc.restart();
    await before.closed;
    const after = await joined('frank', '#back'); // the nick is free again: the old server's state is gone
    after.send('NAMES #back');
    expect(await after.next((l) => / 353 /.test(l))).toMatch(/ #back :@frank$/);
  });
});
