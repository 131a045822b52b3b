/**
 * The client's per-message bookkeeping with no socket: send() (promise,
 * queue entry, pump request), then the window's takeNext() and one
 * cumulative ack() per 4,000 messages, as a connection would. CPU time per
 * message, min and median of 15 rounds of 2,000,000 messages. Compare two
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

function main(): void {
  const payload = Buffer.alloc(64, 0x61);
  // Port 1 is never dialled: the client is idle, so send() only queues.
  const client = new ResilientClient({ host: '127.0.0.1', port: 1 });
  client.on('error', () => undefined);
  const window = (client as unknown as { life: { outbound: OutboundWindow } }).life.outbound;
  const round = (): number => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < ACKS_PER_ROUND; r++) {
      for (let i = 0; i < PER_ACK; i++) void client.send(payload);
      let last = 0;
      for (let e = window.takeNext(); e; e = window.takeNext()) last = e.id;
      window.ack(last);
    }
    const u = process.cpuUsage(t0);
    return ((u.user + u.system) * 1000) / (PER_ACK * ACKS_PER_ROUND);
  };
  const ns = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  process.stdout.write(`send + take + ack, 64 B: min ${ns[0]?.toFixed(0)} ns, median ${ns[ROUNDS >> 1]?.toFixed(0)} ns per message\n`);
  void client.destroy();
}

main();
