/**
 * A chat client on resilient-tcp: type a line to say it; lines from everyone
 * are printed once each, even across a server restart (duplicates are dropped
 * by the sender's process nonce and message id: ids start again at 1 when a
 * client restarts, so the id alone, or the name and id, would drop a
 * restarted client's first lines).
 *
 *   npx tsx examples/chat/chat-client.ts NAME [port]   (default 7401)
 */
import { EventEmitter } from 'eventemitter3';
import { randomUUID } from 'node:crypto';
import * as readline from 'node:readline';
import { ResilientClient } from '../../src/index';
import type { ChatLine, ChatSay } from './chat-server';

export class ChatClient extends EventEmitter<{ line: (l: ChatLine) => void; status: (s: string) => void }> {
  readonly client: ResilientClient;
  /** Names this process's lines: with the message id, unique for good. */
  readonly nonce = randomUUID();
  private readonly seen = new Set<string>();

  constructor(name: string, port = 7401, host = '127.0.0.1') {
    super();
    this.client = new ResilientClient({
      host,
      port,
      clientId: name,
      heartbeat: { intervalMs: 1000, timeoutMs: 3000 },
      reconnect: { initialDelayMs: 100, maxDelayMs: 2000 },
    });
    this.client.on('message', (payload) => {
      const line = JSON.parse(payload.toString('utf8')) as ChatLine;
      const key = `${line.nonce}:${line.id}`;
      if (this.seen.has(key)) return; // a resend after a server restart
      this.seen.add(key);
      this.emit('line', line);
    });
    this.client.on('stateChange', ({ to, reason }) => this.emit('status', `${to}${reason ? ` (${reason.code})` : ''}`));
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  /** Resolves when the server has the line (queued while the server is away). */
  say(text: string): Promise<void> {
    const say: ChatSay = { nonce: this.nonce, text };
    return this.client.send(JSON.stringify(say));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

if (require.main === module) {
  const name = process.argv[2] ?? `guest-${process.pid}`;
  const chat = new ChatClient(name, Number(process.argv[3] ?? 7401));
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  chat.on('line', (l) => console.log(`[${l.from}] ${l.text}`));
  // One line per retry: 'reconnecting (CODE)' says a new attempt is coming, so 'connecting' is not printed.
  chat.on('status', (s) => s !== 'connecting' && console.log(`-- ${s}`));
  rl.on('line', (text) => void chat.say(text).catch((e: { code?: string }) => console.log(`-- not sent: ${e.code}`)));
  rl.on('close', () => void chat.close());
  void chat.connect().catch((e: { code?: string }) => console.log(`-- could not connect: ${e.code}`));
}
