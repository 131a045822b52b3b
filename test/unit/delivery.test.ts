import fc from 'fast-check';
import { InboundTracker, OutboundWindow, QueueOptions } from '../../src/core/delivery';
import type { ResilientError } from '../../src/core/errors';

const q = (o: Partial<QueueOptions> = {}): QueueOptions => ({ maxMessages: 100, maxBytes: 1 << 20, overflow: 'reject', ...o });

/** Each message its own reject, as each send() has: withdraw() finds it by that. */
const rejects = new Map<string, (e: ResilientError) => void>();

function add(w: OutboundWindow, text: string, log: string[], expiresAt = Infinity) {
  const reject = (e: ResilientError): void => void log.push(`${e.code}:${text}`);
  rejects.set(text, reject);
  return w.enqueue(Buffer.from(text), expiresAt, () => log.push(`ok:${text}`), reject);
}

/** takeNext() with its id: the message taken, or undefined. */
function next(w: OutboundWindow, held = false): { id: number; payload: Buffer } | undefined {
  const payload = w.takeNext(held);
  return payload && { id: w.takenId, payload };
}

describe('OutboundWindow', () => {
  it('assigns monotonic ids, resolves on cumulative ack, resends after a resume', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    for (const t of ['a', 'b', 'c', 'd']) add(w, t, log);
    expect([next(w)?.id, next(w)?.id, next(w)?.id]).toEqual([1, 2, 3]);
    expect(w.inFlight).toBe(3);
    expect(w.ack(2)).toBe(2);
    expect(log).toEqual(['ok:a', 'ok:b']);
    w.resume(2); // reconnect: server has up to 2
    expect(next(w)?.id).toBe(3);
    expect(next(w)?.id).toBe(4);
    expect(w.takeNext()).toBeUndefined();
  });

  it('an ack or resume position beyond the highest id written throws ERR_PROTOCOL and resolves nothing', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    for (const t of ['a', 'b', 'c']) add(w, t, log);
    expect(() => w.resume(3)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    w.takeNext();
    expect(w.highestWritten).toBe(1);
    expect(() => w.ack(2)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    expect(() => w.resume(Number.MAX_SAFE_INTEGER)).toThrow(/resume position/);
    expect(log).toEqual([]);
    expect(w.inFlight).toBe(1); // the refused resume rewound nothing
    w.rewind();
    w.takeNext();
    w.takeNext();
    expect(w.ack(2)).toBe(2); // written on a later connection: fine, and the highest id is kept across rewinds
    expect(w.highestWritten).toBe(2);
    expect(log).toEqual(['ok:a', 'ok:b']);
  });

  it("'reject' refuses when full; 'drop-oldest' drops the oldest unsent, never one in flight", () => {
    const log: string[] = [];
    const r = new OutboundWindow(q({ maxMessages: 2 }));
    add(r, 'a', log);
    add(r, 'b', log);
    expect(add(r, 'c', log)).toBeUndefined();
    expect(log).toEqual(['ERR_QUEUE_FULL:c']);

    const log2: string[] = [];
    const d = new OutboundWindow(q({ maxMessages: 2, overflow: 'drop-oldest' }));
    const dropped: string[] = [];
    d.onDropped = (_id, payload) => dropped.push(payload.toString());
    add(d, 'a', log2);
    add(d, 'b', log2);
    d.takeNext(); // 'a' is on the wire
    expect(add(d, 'c', log2)).toBe(3); // ids are never reused
    expect(dropped).toEqual(['b']);
    expect(d.pending().map(String)).toEqual(['a', 'c']);
    d.takeNext(); // 'c' too: nothing droppable left
    expect(add(d, 'e', log2)).toBeUndefined();
    expect(log2).toEqual(['ERR_QUEUE_FULL:b', 'ERR_QUEUE_FULL:e']);
  });

  it('bounds bytes too', () => {
    const w = new OutboundWindow(q({ maxBytes: 5 }));
    const log: string[] = [];
    add(w, 'abc', log);
    expect(add(w, 'def', log)).toBeUndefined();
    expect(log).toEqual(['ERR_QUEUE_FULL:def']);
    expect(w.sizeBytes).toBe(3);
  });

  it('expires unsent entries past their deadline', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    add(w, 'a', log, 100);
    add(w, 'b', log, Infinity);
    add(w, 'c', log, 50);
    expect(w.nextExpiry()).toBe(50);
    expect(w.expire(100)).toBe(2);
    expect(log).toEqual(['ERR_MESSAGE_EXPIRED:a', 'ERR_MESSAGE_EXPIRED:c']);
    expect(w.pending().map(String)).toEqual(['b']);
  });

  it('rejectAll rejects everything and returns the payloads in order', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    for (const t of ['a', 'b', 'c']) add(w, t, log);
    w.takeNext();
    const err = { code: 'ERR_CLOSED' } as ResilientError;
    expect(w.rejectAll(err).map(String)).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['ERR_CLOSED:a', 'ERR_CLOSED:b', 'ERR_CLOSED:c']);
    expect(w.size).toBe(0);
  });
});

describe('OutboundWindow.enqueueAhead (a native handshake message)', () => {
  function ahead(w: OutboundWindow, text: string, log: string[]) {
    return w.enqueueAhead(Buffer.from(text), () => log.push(`ok:${text}`), (e: ResilientError) => log.push(`${e.code}:${text}`));
  }
  const take = (w: OutboundWindow, held = false): string[] => {
    const out: string[] = [];
    for (let e = next(w, held); e; e = next(w, held)) out.push(`${e.id}:${e.payload.toString()}`);
    return out;
  };

  it('goes after resends and earlier handshake messages, before everything never written, taking their ids in write order', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    for (const t of ['a', 'b']) add(w, t, log);
    take(w); // a=1, b=2 written on the last connection
    w.rewind();
    for (const t of ['c', 'd']) add(w, t, log); // queued during the outage: 3, 4
    ahead(w, 'login', log);
    ahead(w, 'select', log);
    // Held: the resends and the handshake's messages, never the queue.
    expect(take(w, true)).toEqual(['1:a', '2:b', '3:login', '4:select']);
    expect(take(w)).toEqual(['5:c', '6:d']);
    expect(w.ack(6)).toBe(6);
    expect(log).toEqual(['ok:a', 'ok:b', 'ok:login', 'ok:select', 'ok:c', 'ok:d']);
  });

  it('withdrawAhead rejects the handshake messages never written and gives the queue its ids back', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    add(w, 'a', log);
    ahead(w, 'login', log);
    w.withdrawAhead(Object.assign(new Error('lost'), { code: 'ERR_CONNECTION_LOST' }) as unknown as ResilientError);
    expect(log).toEqual(['ERR_CONNECTION_LOST:login']);
    expect(take(w)).toEqual(['1:a']);
    add(w, 'b', log);
    expect(take(w)).toEqual(['2:b']);
  });

  it('is bounded like a send and never dropped by drop-oldest', () => {
    const w = new OutboundWindow(q({ maxMessages: 2, overflow: 'drop-oldest' }));
    const log: string[] = [];
    ahead(w, 'login', log);
    add(w, 'a', log);
    add(w, 'b', log); // drops a, the oldest user message, not the login
    expect(log).toEqual(['ERR_QUEUE_FULL:a']);
    expect(take(w, true)).toEqual(['1:login']);
    const full = new OutboundWindow(q({ maxMessages: 1 }));
    add(full, 'x', log);
    expect(ahead(full, 'login', log).refused?.code).toBe('ERR_QUEUE_FULL');
  });
});

describe('delivery property', () => {
  type Op = { op: 'send' } | { op: 'write'; n: number } | { op: 'deliver'; n: number } | { op: 'ackSome' } | { op: 'disconnect'; lose: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.constant({ op: 'send' } as Op),
    fc.integer({ min: 1, max: 5 }).map((n) => ({ op: 'write', n }) as Op),
    fc.integer({ min: 1, max: 5 }).map((n) => ({ op: 'deliver', n }) as Op),
    fc.constant({ op: 'ackSome' } as Op),
    fc.integer({ min: 0, max: 10 }).map((lose) => ({ op: 'disconnect', lose }) as Op),
  );

  it('for any sends, acks, disconnects and resumes: delivered = an in-order, duplicate-free copy of what was sent; acked ⊆ delivered', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const w = new OutboundWindow(q({ maxMessages: 1000 }));
        const inbound = new InboundTracker();
        const wire: number[] = []; // ids written on the current connection, not yet read by the receiver
        const delivered: number[] = [];
        const resolved: number[] = [];
        let sent = 0;
        for (const o of ops) {
          switch (o.op) {
            case 'send': {
              const text = String(++sent);
              w.enqueue(Buffer.from(text), Infinity, () => resolved.push(Number(text)), () => {});
              break;
            }
            case 'write':
              for (let i = 0; i < o.n; i++) {
                if (w.takeNext()) wire.push(w.takenId);
              }
              break;
            case 'deliver':
              for (let i = 0; i < o.n && wire.length > 0; i++) {
                const id = wire.shift() as number;
                if (inbound.accept(id)) delivered.push(id);
              }
              break;
            case 'ackSome': {
              const a = inbound.takeAck();
              if (a !== undefined) w.ack(a);
              break;
            }
            case 'disconnect':
              // A cut loses what was on the wire; the resume tells the sender what arrived.
              wire.splice(0, wire.length);
              w.resume(inbound.lastDelivered);
              break;
          }
        }
        // Finally, a clean connection drains everything.
        w.resume(inbound.lastDelivered);
        while (w.takeNext()) if (inbound.accept(w.takenId)) delivered.push(w.takenId);
        w.ack(inbound.lastDelivered);
        const all = Array.from({ length: sent }, (_, i) => i + 1);
        expect(delivered).toEqual(all);
        expect(resolved).toEqual(all);
        expect(w.size).toBe(0);
      }),
    );
  });
});

describe('InboundTracker', () => {
  it('drops duplicates and batches acks', () => {
    const t = new InboundTracker();
    expect([t.accept(1), t.accept(2), t.accept(2), t.accept(1), t.accept(5)]).toEqual([true, true, false, false, true]);
    expect(t.takeAck()).toBe(5);
    expect(t.takeAck()).toBeUndefined();
  });
});

describe('OutboundWindow never expires, drops or withdraws a message once written', () => {
  it('after a rewind, written entries are exempt from TTL, drop-oldest and withdraw', () => {
    const log: string[] = [];
    const w = new OutboundWindow(q({ maxMessages: 2, overflow: 'drop-oldest' }));
    add(w, 'a', log, 10);
    const dropped: string[] = [];
    w.onDropped = (_id, payload) => dropped.push(payload.toString());
    add(w, 'b', log, 10);
    w.takeNext(); // 'a' written
    w.rewind(); // connection lost: 'a' will be resent, but it may have arrived
    expect(w.expire(100)).toBe(1);
    expect(log).toEqual(['ERR_MESSAGE_EXPIRED:b']);
    expect(w.withdraw(rejects.get('b')!, { code: 'ERR_ABORTED' } as ResilientError)).toBe(0); // already settled
    add(w, 'c', log);
    add(w, 'd', log); // full: the only droppable one is 'c'
    expect(dropped).toEqual(['c']);
    expect(w.pending().map(String)).toEqual(['a', 'd']);
    w.takeNext();
    expect(w.withdraw(rejects.get('a')!, { code: 'ERR_ABORTED' } as ResilientError)).toBe(0);
  });
});

describe('OutboundWindow.enqueueAll (one sendMany batch)', () => {
  const bufs = (...t: string[]): Buffer[] => t.map((x) => Buffer.from(x));

  it('accepts the whole batch in order with consecutive ids, sharing one resolve and one reject', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    add(w, 'a', log);
    let resolved = 0;
    const rejected: string[] = [];
    expect(w.enqueueAll(bufs('b', 'c', 'd'), Infinity, () => resolved++, (e) => rejected.push(e.code))).toBe(3);
    const ids: number[] = [];
    while (w.takeNext()) ids.push(w.takenId);
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(w.ack(3)).toBe(3);
    expect(resolved).toBe(2);
    expect(w.ack(4)).toBe(1);
    expect(resolved).toBe(3);
    expect(rejected).toEqual([]);
  });

  it("refuses a batch that does not fit as a whole, queueing none of it, under 'reject'", () => {
    const w = new OutboundWindow(q({ maxMessages: 4 }));
    const log: string[] = [];
    add(w, 'a', log);
    add(w, 'b', log);
    const rejected: string[] = [];
    expect(w.enqueueAll(bufs('c', 'd', 'e'), Infinity, () => {}, (e) => rejected.push(e.code))).toBe(0);
    expect(rejected).toEqual(['ERR_QUEUE_FULL']);
    expect(w.pending().map(String)).toEqual(['a', 'b']);
    const bytes = new OutboundWindow(q({ maxBytes: 4 }));
    expect(bytes.enqueueAll(bufs('ab', 'cde'), Infinity, () => {}, (e) => rejected.push(e.message))).toBe(0);
    expect(rejected[1]).toMatch(/batch of 2 messages \(5 bytes\)/);
    expect(bytes.size).toBe(0);
  });

  it("under 'drop-oldest' drops older unwritten messages to make room for the whole batch, never part of it", () => {
    const w = new OutboundWindow(q({ maxMessages: 3, overflow: 'drop-oldest' }));
    const log: string[] = [];
    const dropped: string[] = [];
    w.onDropped = (_id, payload) => dropped.push(payload.toString());
    add(w, 'a', log);
    add(w, 'b', log);
    w.takeNext(); // 'a' is on the wire: never dropped
    expect(w.enqueueAll(bufs('c', 'd'), Infinity, () => {}, () => {})).toBe(2);
    expect(dropped).toEqual(['b']);
    expect(w.pending().map(String)).toEqual(['a', 'c', 'd']);
    const rejected: string[] = [];
    expect(w.enqueueAll(bufs('e', 'f', 'g', 'h'), Infinity, () => {}, (e) => rejected.push(e.code))).toBe(0);
    expect(rejected).toEqual(['ERR_QUEUE_FULL']);
    expect(w.pending().map(String)).toEqual(['a', 'c', 'd']); // a batch larger than the bound drops nothing
  });

  it('withdraw withdraws the unwritten entries of one batch only', () => {
    const w = new OutboundWindow(q());
    const log: string[] = [];
    const batchLog: string[] = [];
    const reject = (e: ResilientError): void => void batchLog.push(e.code);
    expect(w.enqueueAll(bufs('a', 'b', 'c'), Infinity, () => {}, reject)).toBe(3);
    add(w, 'x', log);
    w.takeNext(); // 'a' written
    expect(w.withdraw(reject, { code: 'ERR_ABORTED' } as ResilientError)).toBe(2);
    expect(batchLog).toEqual(['ERR_ABORTED', 'ERR_ABORTED']);
    expect(w.pending().map(String)).toEqual(['a', 'x']);
    expect(log).toEqual([]);
  });
});
