/**
 * A reconnect-aware IRC chat client (RFC 2812) on ResilientClient and
 * `lineCodec({ delimiter: '\r\n' })`. On every connection the handshake
 * registers (NICK/USER, waits for 001) and JOINs its channels before anything
 * queued is written, so lines said during an outage reach the channel once
 * the client is back in it. The server's PINGs are answered by
 * `heartbeat.answer`; our own `PING :rt<seq>` is matched to its PONG.
 *
 * Nick taken (433): after a silent link loss the server still holds our old
 * connection, and our nick with it, until its own ping timeout. The handshake
 * then registers with a fallback nick, and the client takes its nick back when
 * the server reports the stale connection's QUIT.
 *
 *   IRC_PORT=6667 npx tsx examples/irc/irc-client.ts NICK '#channel' [port]
 */
import { EventEmitter } from 'eventemitter3';
import * as readline from 'node:readline';
import { ResilientError, lineCodec, ResilientClient, type HandshakeLink } from '../../src/index';
import type { ConnectionOptions } from '../shared/client-types';

export interface IrcClientOptions extends ConnectionOptions<string> {
  nick: string;
  /** Tried in order when the nick is taken (433). @default [nick + '_', nick + '__'] */
  fallbackNicks?: string[];
  /** Joined on every connection. @default [] */
  channels?: string[];
  /** @default nick */
  realName?: string;
  /** Our own PING schedule, in ms. @default { intervalMs: 15000, timeoutMs: 45000 } */
  heartbeat?: { intervalMs: number; timeoutMs: number };
}

export interface PrivMsg {
  from: string;
  target: string;
  text: string;
}

const DEFAULT_HEARTBEAT = { intervalMs: 15_000, timeoutMs: 45_000 };
/** RFC 2812 §5.1 replies the handshake waits for: welcome, nick in use, erroneous nick. */
const REGISTRATION_REPLY = /^:\S+ (001|432|433) /;
/** RFC 2812 §5.2 JOIN refusals: no such channel, too many channels, full, invite only, banned, bad key. */
const JOIN_REFUSED = new Set(['403', '405', '471', '473', '474', '475']);
const SERVER_PING = /^(?::\S+ )?PING (.*)$/;
const OUR_PONG = / PONG \S+ :rt(\d+)$/;
const PRIVMSG = /^:([^!\s]+)!\S* PRIVMSG (\S+) :(.*)$/;

/** The nick part of a `:nick!user@host` prefix, or undefined. */
function prefixNick(line: string): string | undefined {
  return /^:([^!\s]+)!/.exec(line)?.[1];
}

export class IrcClient extends EventEmitter<{ privmsg: (m: PrivMsg) => void; nick: (nick: string) => void }> {
  readonly client: ResilientClient<string>;
  /** The nick the server knows us by on the current connection. */
  nick: string;
  private readonly preferred: string;

  constructor(private readonly options: IrcClientOptions) {
    super();
    const { nick, fallbackNicks, channels, realName, heartbeat = DEFAULT_HEARTBEAT, ...connection } = options;
    this.nick = this.preferred = nick;
    this.client = new ResilientClient<string>({
      ...connection,
      codec: lineCodec({ delimiter: '\r\n' }),
      heartbeat: {
        ...heartbeat,
        createPing: (seq) => `PING :rt${seq}`,
        isPong: (m) => {
          const x = OUR_PONG.exec(m);
          return x ? Number(x[1]) : false;
        },
        answer: (m) => {
          const x = SERVER_PING.exec(m);
          return x ? `PONG ${x[1]}` : undefined;
        },
      },
      handshake: (link) => this.register(link),
    });
    this.client.on('message', (line) => this.onLine(line));
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  /** Queued while the server is away; written once the client is back in the channel. */
  say(target: string, text: string): Promise<void> {
    return this.client.send(`PRIVMSG ${target} :${text}`);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** NICK/USER until 001 (a taken nick moves to the next fallback), then JOIN every channel. */
  private async register(link: HandshakeLink<string>): Promise<void> {
    const nicks = [this.preferred, ...(this.options.fallbackNicks ?? [`${this.preferred}_`, `${this.preferred}__`])];
    let i = 0;
    link.send(`NICK ${nicks[i]}`);
    link.send(`USER ${this.preferred} 0 * :${this.options.realName ?? this.preferred}`);
    for (;;) {
      const reply = await link.receive((l) => REGISTRATION_REPLY.test(l) || l.startsWith('ERROR '));
      const code = REGISTRATION_REPLY.exec(reply)?.[1];
      if (code === undefined) throw new ResilientError('ERR_PROTOCOL', `IRC registration: ${reply}`, 'unavailable');
      if (code === '001') break;
      if (code === '432') throw new ResilientError('ERR_PROTOCOL', `IRC refuses the nick: ${reply}`, 'fatal');
      // 433: held by someone, often our own connection the server has not yet timed out.
      i++;
      if (i >= nicks.length) throw new ResilientError('ERR_PROTOCOL', `IRC: every nick is taken (${nicks.join(', ')})`, 'unavailable');
      link.send(`NICK ${nicks[i]}`);
    }
    this.setNick(nicks[i] as string);
    for (const channel of this.options.channels ?? []) {
      link.send(`JOIN ${channel}`);
      const reply = await link.receive((l) => this.isOwnJoin(l, channel) || JOIN_REFUSED.has(l.split(' ')[1] ?? ''));
      if (!this.isOwnJoin(reply, channel)) throw new ResilientError('ERR_PROTOCOL', `IRC JOIN ${channel} refused: ${reply}`, 'fatal');
    }
  }

  private isOwnJoin(line: string, channel: string): boolean {
    const parts = line.split(' ');
    return prefixNick(line) === this.nick && parts[1] === 'JOIN' && parts[2]?.replace(/^:/, '') === channel;
  }

  private onLine(line: string): void {
    const msg = PRIVMSG.exec(line);
    if (msg) {
      this.emit('privmsg', { from: msg[1] as string, target: msg[2] as string, text: msg[3] as string });
      return;
    }
    const [, command, arg] = line.split(' ');
    const who = prefixNick(line);
    if (command === 'NICK' && who === this.nick && arg !== undefined) this.setNick(arg.replace(/^:/, ''));
    // Our stale connection is gone: take the nick back.
    if (command === 'QUIT' && who === this.preferred && this.nick !== this.preferred) void this.client.send(`NICK ${this.preferred}`).catch(() => undefined);
  }

  private setNick(nick: string): void {
    this.nick = nick;
    this.emit('nick', nick);
  }
}

if (require.main === module) {
  const [nick = `guest${process.pid}`, channel = '#resilient', port = process.env.IRC_PORT ?? '6667'] = process.argv.slice(2);
  const irc = new IrcClient({ host: '127.0.0.1', port: Number(port), nick, channels: [channel], reconnect: { initialDelayMs: 200, maxDelayMs: 5000 } });
  irc.on('privmsg', (m) => console.log(`<${m.from}> ${m.text}`));
  irc.on('nick', (n) => console.log(`-- you are ${n}`));
  irc.client.on('stateChange', ({ to, reason }) => console.log(`-- ${to}${reason ? ` (${reason.code})` : ''}`));
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  rl.on('line', (text) => void irc.say(channel, text).catch((e: { code?: string }) => console.log(`-- not sent: ${e.code}`)));
  rl.on('close', () => void irc.close());
  irc.connect().catch((e: { code?: string; message?: string }) => console.log(`-- could not connect: ${e.code} ${e.message}`));
}
