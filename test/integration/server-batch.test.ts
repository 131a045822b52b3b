/**
 * The server's `messages` event (src/server/batch.ts): one call per socket
 * read with that read's new messages, in order, after their `message`
 * events and before the connection's close; the batch is reused and empty
 * after the call. Reads are made by emitting `data` on the accepted socket,
 * as libuv's read loop does (as test/integration/server-acks.test.ts), and
 * end to end with a real ResilientClient.
 */
import { ResilientClient } from '../../src';
import { FrameType, encodeData, encodeFrame } from '../../src/protocol/frames';
import type { MessageBatch, Session } from '../../src/server';
import { useServerWithRawClients } from '../support/lifecycle';
import { acksOf, dataFrames, roundTrip, welcomedRaw } from '../support/server-reads';

/** What one `messages` call held, read during the call. */
interface Seen {
  session: Session;
  ids: number[];
  payloads: string[];
  sizes: number[];
  copies: string[];
}

function read(session: Session, b: MessageBatch): Seen {
  const seen: Seen = { session, ids: [], payloads: [], sizes: [], copies: [] };
  for (let i = 0; i < b.length; i++) {
    seen.ids.push(b.id(i));
    seen.payloads.push(b.payload(i).toString());
    seen.sizes.push(b.size(i));
    const into = Buffer.alloc(b.size(i) + 2, 0x2e);
    expect(b.copyPayload(i, into, 1)).toBe(b.size(i));
    seen.copies.push(into.toString());
  }
  return seen;
}

describe('server: the messages event (one batch per read)', () => {
  const ctx = useServerWithRawClients({});
  const welcomed = (): ReturnType<typeof welcomedRaw> => welcomedRaw(ctx.server, () => ctx.raw());

  it("hands each read's new messages over once, in order, after their message events; duplicates are left out", async () => {
    const { raw, socket } = await welcomed();
    const order: string[] = [];
    const batches: Seen[] = [];
    ctx.server.on('message', (_s, p) => order.push(`message ${p.toString()}`));
    ctx.server.on('messages', (s, b) => {
      order.push(`messages ${b.length}`);
      batches.push(read(s, b));
    });
    socket.emit('data', dataFrames(1, 3));
    socket.emit('data', dataFrames(4, 5));
    // A read of duplicates only delivers nothing: no call.
    socket.emit('data', dataFrames(2, 5));
    // A read with duplicates and new ones: the new ones only.
    socket.emit('data', dataFrames(5, 6));
    expect(order).toEqual(['message m1', 'message m2', 'message m3', 'messages 3', 'message m4', 'message m5', 'messages 2', 'message m6', 'messages 1']);
    expect(batches.map((b) => b.ids)).toEqual([[1, 2, 3], [4, 5], [6]]);
    expect(batches[0]).toMatchObject({ payloads: ['m1', 'm2', 'm3'], sizes: [2, 2, 2], copies: ['.m1.', '.m2.', '.m3.'] });
    expect(batches[2]).toMatchObject({ payloads: ['m6'], sizes: [2], copies: ['.m6.'] });
    const session = ctx.server.session(batches[0]!.session.id);
    expect(batches.every((b) => b.session === session)).toBe(true);
    expect(session?.messagesIn).toBe(6);
    await roundTrip(raw);
    expect(acksOf(raw)).toEqual([3, 6]);
  });

  it('a frame cut across reads is in the batch of the read that completes it; views may be kept, the batch may not', async () => {
    const { socket } = await welcomed();
    const kept: Buffer[] = [];
    let batch: MessageBatch | undefined;
    const lengths: number[] = [];
    ctx.server.on('messages', (_s, b) => {
      batch = b;
      lengths.push(b.length);
      for (let i = 0; i < b.length; i++) kept.push(b.payload(i));
    });
    const bytes = Buffer.concat([dataFrames(1, 1), encodeData(2, Buffer.alloc(3000, 0x61)), dataFrames(3, 3)]);
    const cut = bytes.length - 100;
    socket.emit('data', bytes.subarray(0, cut));
    socket.emit('data', bytes.subarray(cut));
    expect(lengths).toEqual([1, 2]);
    expect(kept.map((p) => p.length)).toEqual([2, 3000, 2]);
    expect(kept[1]!.equals(Buffer.alloc(3000, 0x61))).toBe(true);
    expect(kept[2]!.toString()).toBe('m3');
    // After the call the batch is empty and says so.
    expect(batch?.length).toBe(0);
    expect(() => batch?.payload(0)).toThrow(RangeError);
    expect(() => batch?.id(0)).toThrow(/outside this batch of 0/);
  });

  it('a BYE or a bad frame in the same read as DATA: the batch comes before the close, and that DATA is acknowledged', async () => {
    const { raw, socket } = await welcomed();
    const order: string[] = [];
    ctx.server.on('messages', (_s, b) => order.push(`messages ${b.id(0)}-${b.id(b.length - 1)}`));
    ctx.server.on('disconnect', (_s, err) => order.push(`disconnect ${err?.code ?? 'none'}`));
    ctx.server.on('sessionEnd', () => order.push('sessionEnd'));
    socket.emit('data', Buffer.concat([dataFrames(1, 2), encodeFrame(FrameType.BYE, Buffer.from('done'))]));
    await raw.closed;
    expect(order).toEqual(['messages 1-2', 'disconnect none', 'sessionEnd']);
    expect(acksOf(raw)).toEqual([2]);

    order.length = 0;
    const second = await welcomed();
    // Frame type 0x7f is unknown: a protocol error after two good frames.
    second.socket.emit('data', Buffer.concat([dataFrames(1, 2), Buffer.from([0, 0, 0, 1, 0x7f])]));
    await second.raw.closed;
    expect(order).toEqual(['messages 1-2', 'disconnect ERR_PROTOCOL']);
    expect(second.raw.errorCode()).toBe('ERR_PROTOCOL');
  });

  it('a listener that throws closes that connection only; one that closes the server is called once', async () => {
    const a = await welcomed();
    const b = await welcomed();
    const calls: number[] = [];
    let closing: Promise<void> | undefined;
    ctx.server.on('messages', (_s, batch) => {
      calls.push(batch.length);
      if (calls.length === 1) throw new Error('listener bug');
      closing = ctx.server.close();
    });
    a.socket.emit('data', dataFrames(1, 2));
    await a.raw.closed;
    expect(a.raw.errorCode()).toBeDefined();
    // The batch was emptied: the next read of another connection hands over its own messages only,
    // and the close it starts (this connection's close hands over what is left: nothing) calls no listener again.
    b.socket.emit('data', dataFrames(1, 3));
    await closing;
    await b.raw.closed;
    expect(calls).toEqual([2, 3]);
    expect(acksOf(b.raw)).toEqual([3]);
  });

  it('with no messages listener the server collects nothing; a listener added later gets the next read', async () => {
    const { socket } = await welcomed();
    const ids: number[] = [];
    socket.emit('data', dataFrames(1, 2));
    const internal = ctx.server as unknown as { batch: MessageBatch };
    expect(internal.batch.length).toBe(0);
    ctx.server.on('messages', (_s, b) => {
      for (let i = 0; i < b.length; i++) ids.push(b.id(i));
    });
    socket.emit('data', dataFrames(3, 4));
    expect(ids).toEqual([3, 4]);
  });

  it('end to end: 20,000 messages of a ResilientClient arrive once each, in order, in batches', async () => {
    const client = new ResilientClient({ host: '127.0.0.1', port: ctx.port });
    client.on('error', () => undefined);
    const ids: number[] = [];
    const payloads: string[] = [];
    let calls = 0;
    ctx.server.on('messages', (_s, b) => {
      calls++;
      for (let i = 0; i < b.length; i++) {
        ids.push(b.id(i));
        payloads.push(b.payload(i).toString());
      }
    });
    try {
      await client.connect();
      const sent = Array.from({ length: 20_000 }, (_, i) => `p${i}`);
      await client.sendMany(sent.slice(0, 10_000));
      await client.sendMany(sent.slice(10_000));
      expect(payloads).toEqual(sent);
      expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
      // Batches, not one call per message (a 64 KiB read holds thousands of these frames).
      expect(calls).toBeLessThan(20_000);
    } finally {
      await client.close();
    }
  });
});
