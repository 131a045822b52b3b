/**
 * The baseline of the Redis benchmark (bench/foreign-redis.ts): a plain
 * net.Socket speaking RESP with the example's codec (examples/redis/resp-codec.ts),
 * written as a careful hand-made client would be: the commands of one tick
 * leave in one write (cork, uncork on the next tick), and each reply settles
 * the oldest command still waiting, since Redis answers in order. No
 * reconnect, no heartbeat, no handshake.
 */
import * as net from 'node:net';
import { once } from 'node:events';
import { respCodec, type RespValue } from '../examples/redis/resp-codec';

/** Answered entries kept at the front of the waiting list before it is compacted. */
const COMPACT_AT = 4096;

type Waiter = ((reply: RespValue) => void) | undefined;

export class RawResp {
  private readonly codec = respCodec();
  private readonly decoder = this.codec.decoder();
  /** Commands written and not answered, oldest first from `head`: a resolver, or undefined for one fired and forgotten. */
  private waiting: Waiter[] = [];
  private head = 0;
  private corked = false;
  private drainers: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const reply of this.decoder.push(chunk)) this.settle(reply);
    });
    socket.on('error', () => undefined); // the benchmark notices a dead baseline by its stalled replies
  }

  /** Connects to 127.0.0.1:port and, when `db` is not 0, selects it (as the example's handshake does). */
  static async connect(port: number, db = 0): Promise<RawResp> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const raw = new RawResp(socket);
    if (db !== 0) await raw.command(['SELECT', db]);
    return raw;
  }

  /** Writes `cmd`; resolves with its reply. */
  command(cmd: RespValue): Promise<RespValue> {
    return new Promise((resolve) => this.write(cmd, resolve));
  }

  /** Writes `cmd` and forgets it (its reply is counted, not kept). */
  fire(cmd: RespValue): void {
    this.write(cmd, undefined);
  }

  /** Resolves once every command written so far has its reply. */
  drained(): Promise<void> {
    return this.head === this.waiting.length ? Promise.resolve() : new Promise((resolve) => this.drainers.push(resolve));
  }

  /** Closes the socket; resolves once it has closed. */
  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    if (!this.socket.closed) await once(this.socket, 'close');
  }

  private write(cmd: RespValue, waiter: Waiter): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.waiting.push(waiter);
    this.socket.write(this.codec.encode(cmd));
  }

  private settle(reply: RespValue): void {
    const waiter = this.waiting[this.head++];
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
      for (const d of this.drainers.splice(0)) d();
    } else if (this.head >= COMPACT_AT) {
      // A stream that never fully drains: drop the answered front now and then, not on every reply.
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    waiter?.(reply);
  }
}
