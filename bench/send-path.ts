/**
 * The client's per-message bookkeeping with no socket: send() (promise,
 * the window's ring slots, pump request), then the window's takeNext() and one
 * cumulative ack() per 4,000 messages, as a connection would. CPU time per
 * message, min and median of 15 rounds of 2,000,000 messages. Twice: acked
 * at once, and with each ack HELD messages behind the last one taken, so
 * that 4,000 to 8,000 are unacknowledged, as the throughput bench's
 * fire-and-forget row keeps them (FF_HIGH): their promises (and, before the
 * ring window, their entries) survive young-generation collections, which the
 * first case never sees (the client's profile there: garbage collector
 * about 30 % of its busy time). Compare two
 * versions back to back on the same machine (docs/decisions.md, "send()
 * allocates its promise and its queue entry, nothing else").
 *
 *   node --require ./bench/ts-require.cjs bench/send-path.ts
 */
import { ResilientClient } from '../src/client/client';
import type { OutboundWindow } from '../src/core/delivery';

const PER_ACK = 4000;
const ACKS_PER_ROUND = 500;
const ROUNDS = 15;
/** Messages held unacknowledged in the second case after each ack: 4,000 to 8,000 held, as bench/throughput.ts FF_HIGH keeps. */
const HELD = 4000;

function main(): void {
  const payload = Buffer.alloc(64, 0x61);
  // Port 1 is never dialled: the client is idle, so send() only queues.
  const client = new ResilientClient({ host: '127.0.0.1', port: 1 });
  client.on('error', () => undefined);
  const window = (client as unknown as { life: { outbound: OutboundWindow } }).life.outbound;
  const round = (held: number): number => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < ACKS_PER_ROUND; r++) {
      for (let i = 0; i < PER_ACK; i++) void client.send(payload);
      let last = 0;
      while (window.takeNext()) last = window.takenId;
      if (last > held) window.ack(last - held);
    }
    const u = process.cpuUsage(t0);
    return ((u.user + u.system) * 1000) / (PER_ACK * ACKS_PER_ROUND);
  };
  for (const held of [0, HELD]) {
    const ns = Array.from({ length: ROUNDS }, () => round(held)).sort((a, b) => a - b);
    const what = held === 0 ? 'acked at once' : `${held} held`;
    process.stdout.write(`send + take + ack, 64 B, ${what}: min ${ns[0]?.toFixed(0)} ns, median ${ns[ROUNDS >> 1]?.toFixed(0)} ns per message\n`);
  }
  // Nothing left to reject on destroy (its rejections would be unhandled).
  window.ack(window.highestWritten);
  void client.destroy();
}

main();
