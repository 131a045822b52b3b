/**
 * The pump with no socket: 4,000 queued 64 B messages at a time taken from
 * the delivery window (src/core/delivery.ts) and encoded into a FrameWriter
 * (src/io/writer.ts) over a stream that takes everything, by pump()
 * (src/protocol/pump.ts), as a client's flush does. Wall time of the pump
 * per message, min and median of 15 rounds of 1,000,000 messages. Compare
 * two versions back to back on the same machine.
 *
 *   node --require ./bench/ts-require.cjs bench/pump-path.ts
 */
import { Writable } from 'node:stream';
import { OutboundWindow, QUEUE_DEFAULTS } from '../src/core/delivery';
import { FrameWriter } from '../src/io/writer';
import { pump } from '../src/protocol/pump';

const PER_PUMP = 4000;
const PUMPS_PER_ROUND = 250;
const ROUNDS = 15;

function main(): void {
  const stream = new Writable({ write: (_c, _e, cb) => cb(), writev: (_c, cb) => cb() });
  const writer = new FrameWriter(stream);
  // What a link is to the pump: its writer's room, and one DATA frame per message.
  const link = {
    get room(): number {
      return writer.room;
    },
    sendMessage(id: number, payload: Buffer): void {
      writer.writeData(id, payload);
    },
  };
  const window = new OutboundWindow({ ...QUEUE_DEFAULTS, maxMessages: PER_PUMP });
  const payload = Buffer.alloc(64, 0x61);
  const ignore = (): void => undefined;
  const round = (): number => {
    let ns = 0;
    for (let k = 0; k < PUMPS_PER_ROUND; k++) {
      for (let i = 0; i < PER_PUMP; i++) window.enqueue(payload, Infinity, ignore, ignore);
      const t0 = process.hrtime.bigint();
      pump(window, link, 1 << 20);
      ns += Number(process.hrtime.bigint() - t0);
      window.ack(window.highestWritten);
      writer.flush();
    }
    return ns / (PER_PUMP * PUMPS_PER_ROUND);
  };
  const ns = Array.from({ length: ROUNDS }, round).sort((a, b) => a - b);
  process.stdout.write(`pump (take + encode into the writer), 64 B: min ${ns[0]?.toFixed(1)} ns, median ${ns[ROUNDS >> 1]?.toFixed(1)} ns per message\n`);
}

main();
