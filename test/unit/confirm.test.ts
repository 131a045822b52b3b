import fc from 'fast-check';
import { ConfirmLedger } from '../../src/core/confirm';
import { MAX_OUTSTANDING_PINGS, PingLedger, routePong } from '../../src/core/pong';
import { OutboundWindow } from '../../src/core/delivery';

describe('ConfirmLedger', () => {
  it('asks for one barrier per write batch and confirms the batch when its pong arrives', () => {
    const c = new ConfirmLedger<string>();
    expect(c.wrote(['a', 'b', 'c'])).toBe(true);
    const mark = c.pinged();
    expect(c.barriersInFlight).toBe(1);
    expect(c.answered(mark)).toEqual({ confirmed: ['a', 'b', 'c'], barrier: false });
    expect(c.size).toBe(0);
  });

  it('holds the next barrier until the one in flight is answered, then covers everything written meanwhile', () => {
    const c = new ConfirmLedger<string>();
    expect(c.wrote(['a'])).toBe(true);
    const m1 = c.pinged();
    expect(c.wrote(['b'])).toBe(false);
    expect(c.wrote(['c', 'd'])).toBe(false);
    expect(c.uncovered).toBe(3);
    expect(c.answered(m1)).toEqual({ confirmed: ['a'], barrier: true });
    const m2 = c.pinged();
    expect(c.uncovered).toBe(0);
    expect(c.answered(m2)).toEqual({ confirmed: ['b', 'c', 'd'], barrier: false });
  });

  it('allows up to maxBarriers in flight', () => {
    const c = new ConfirmLedger<string>(2);
    expect(c.wrote(['a'])).toBe(true);
    c.pinged();
    expect(c.wrote(['b'])).toBe(true);
    c.pinged();
    expect(c.wrote(['c'])).toBe(false);
    expect(() => new ConfirmLedger(0)).toThrow(RangeError);
    expect(() => new ConfirmLedger(1.5)).toThrow(RangeError);
  });

  it('a heartbeat ping written after messages is their barrier', () => {
    const c = new ConfirmLedger<string>();
    c.wrote(['a']);
    const hb = c.pinged(); // the heartbeat's ping happened to go first
    expect(c.barrierDue()).toBe(false);
    expect(c.answered(hb).confirmed).toEqual(['a']);
  });

  it('a ping that covers nothing new is not a barrier in flight, yet its pong confirms what came before it', () => {
    const c = new ConfirmLedger<string>();
    c.wrote(['a']);
    c.pinged();
    const idle = c.pinged();
    expect(c.barriersInFlight).toBe(1);
    // The server answered the later ping: it has read everything before it.
    expect(c.answered(idle)).toEqual({ confirmed: ['a'], barrier: false });
    expect(c.barriersInFlight).toBe(0);
  });

  it('never confirms twice: a repeated or older mark confirms nothing', () => {
    const c = new ConfirmLedger<string>();
    c.wrote(['a']);
    const m1 = c.pinged();
    c.answered(m1);
    c.wrote(['b']);
    c.pinged();
    expect(c.answered(m1).confirmed).toEqual([]);
    expect(c.answered(0).confirmed).toEqual([]);
    expect(c.size).toBe(1);
  });

  it('drop() returns the unconfirmed in write order, once, and forgets the barriers; a stale mark confirms nothing', () => {
    const c = new ConfirmLedger<string>();
    c.wrote(['a', 'b']);
    const m1 = c.pinged();
    c.wrote(['c']);
    expect(c.drop()).toEqual(['a', 'b', 'c']);
    expect(c.drop()).toEqual([]);
    expect([c.size, c.uncovered, c.barriersInFlight]).toEqual([0, 0, 0]);
    // Written again on the next connection: a barrier is due at once (the old one is gone).
    expect(c.wrote(['a', 'b', 'c'])).toBe(true);
    expect(c.answered(m1).confirmed).toEqual([]);
    const m2 = c.pinged();
    expect(c.answered(m2).confirmed).toEqual(['a', 'b', 'c']);
  });

  it('asks for no barrier after an empty batch or an idle ping', () => {
    const c = new ConfirmLedger<string>();
    expect(c.wrote([])).toBe(false);
    c.pinged();
    expect(c.barriersInFlight).toBe(0);
  });

  it('confirms thousands of messages batch by batch, in order', () => {
    const c = new ConfirmLedger<number>();
    let next = 0;
    let confirmed = 0;
    for (let round = 0; round < 50; round++) {
      c.wrote(Array.from({ length: 100 }, () => next++));
      const got = c.answered(c.pinged()).confirmed;
      expect(got[0]).toBe(confirmed);
      confirmed += got.length;
    }
    expect(confirmed).toBe(5000);
    expect(c.unconfirmed()).toEqual([]);
  });
});

// ---- Property: the ledger wired the way the client will wire it --------------------------------
// OutboundWindow (src/delivery.ts) holds the messages; ConfirmLedger and PingLedger decide; a model
// server reads the wire in order and answers each ping it reads, numbered or bare.

type Op =
  | { k: 'send'; n: number }
  | { k: 'flush'; max: number }
  | { k: 'heartbeat' }
  | { k: 'read'; n: number }
  | { k: 'pong' }
  | { k: 'stray'; seq: number }
  | { k: 'stale' }
  | { k: 'drop' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((n): Op => ({ k: 'send', n })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }).map((max): Op => ({ k: 'flush', max })) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'heartbeat' }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((n): Op => ({ k: 'read', n })) },
  { weight: 3, arbitrary: fc.constant<Op>({ k: 'pong' }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 ** 31, max: 2 ** 32 - 1 }).map((seq): Op => ({ k: 'stray', seq })) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'stale' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ k: 'drop' }) },
);

/** Cheap assertion for the hot loop (expect() per operation makes the property slow). */
function must(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

type WireItem = { msg: number } | { ping: number };
type Reply = { pong: number | true } | { other: number };

class Harness {
  readonly window = new OutboundWindow({ maxMessages: 1e6, maxBytes: 1 << 30, overflow: 'reject' }, 0);
  readonly confirm: ConfirmLedger<number>;
  readonly pings: PingLedger;
  wire: WireItem[] = [];
  replies: Reply[] = [];
  conn = 0;
  now = 0;
  sent = 0;
  readonly serverGot = new Set<number>();
  readonly resolved: number[] = [];
  readonly resolvedSet = new Set<number>();
  private checked = 0;
  batches = 0;
  barriers = 0;
  oldSeqs: number[] = [];
  /** Ids drop() returned, still to be written first on the next connection. */
  rewrite: number[] = [];

  constructor(
    readonly style: 'seq' | 'bare',
    readonly maxBarriers: number,
    readonly maxPings: number,
  ) {
    this.confirm = new ConfirmLedger<number>(maxBarriers);
    this.pings = new PingLedger(maxPings);
  }

  run(op: Op): void {
    this.now += 1;
    if (op.k === 'send') {
      for (let i = 0; i < op.n; i++) {
        const id = this.sent++;
        this.window.enqueue(Buffer.from(String(id)), Infinity, () => this.resolved.push(id), () => {
          throw new Error(`message ${id} rejected`);
        });
      }
    } else if (op.k === 'flush') this.flush(op.max);
    else if (op.k === 'heartbeat') this.ping();
    else if (op.k === 'read') this.read(op.n);
    else if (op.k === 'pong') this.pong();
    else if (op.k === 'stray' && this.style === 'seq') this.replies.push({ other: op.seq });
    else if (op.k === 'stale' && this.oldSeqs.length > 0) this.replies.push({ other: this.oldSeqs[0] as number });
    else if (op.k === 'drop') this.drop();
    this.check();
  }

  flush(max: number): void {
    const batch: number[] = [];
    while (batch.length < max) {
      if (!this.window.takeNext()) break;
      const id = this.window.takenId;
      batch.push(id);
      this.wire.push({ msg: id });
      if (this.rewrite.length > 0) must(id === this.rewrite.shift(), 'the dropped ones are written first, in order');
    }
    if (batch.length === 0) return;
    this.batches++;
    if (this.confirm.wrote(batch)) this.barrier();
  }

  /** A barrier the ledger asked for: only while fewer than maxBarriers covering pings await their pong. */
  barrier(): void {
    must(this.confirm.barriersInFlight < this.maxBarriers, 'a barrier only below maxBarriers in flight');
    this.barriers++;
    this.ping();
  }

  ping(): void {
    const seq = this.pings.sent(this.now, this.confirm.pinged());
    this.wire.push({ ping: seq });
  }

  read(n: number): void {
    for (let i = 0; i < n && this.wire.length > 0; i++) {
      const item = this.wire.shift() as WireItem;
      if ('msg' in item) this.serverGot.add(item.msg);
      else this.replies.push({ pong: this.style === 'seq' ? item.ping : true });
    }
  }

  pong(): void {
    const r = this.replies.shift();
    if (!r) return;
    const route = routePong(this.pings, 'pong' in r ? r.pong : r.other, this.now);
    if ('other' in r) {
      // A numbered reply to no ping of ours (the app's own PING, or one from an earlier connection).
      must(route.kind === 'message', 'a reply to no ping of ours is a message');
      return;
    }
    // Only a ping the ledger forgot (more than maxPings outstanding) goes unmatched.
    if (route.kind !== 'pong' || !route.match) {
      must(this.maxPings < MAX_OUTSTANDING_PINGS, 'a pong of ours matches its ping');
      return;
    }
    const { confirmed, barrier } = this.confirm.answered(route.match.mark);
    for (const id of confirmed) must(this.serverGot.has(id), `message ${id} confirmed before the server read it`);
    if (confirmed.length > 0) must(this.window.ack(confirmed[confirmed.length - 1] as number) === confirmed.length, 'confirmed = acked');
    if (barrier) this.barrier();
  }

  drop(): void {
    const inFlight = this.window.pending().slice(0, this.window.inFlight).map((b) => Number(String(b)));
    const again = this.confirm.drop();
    expect(again).toEqual(inFlight); // every unconfirmed one, once, in write order
    for (const id of again) must(!this.resolvedSet.has(id), `message ${id} both confirmed and given back`);
    must(this.confirm.barriersInFlight === 0 && this.confirm.uncovered === 0, 'drop() forgets every ping');
    this.window.rewind();
    this.rewrite = again;
    this.oldSeqs = this.wire.flatMap((w) => ('ping' in w ? [w.ping] : []));
    this.wire = [];
    this.replies = [];
    this.pings.clear();
    this.conn++;
  }

  check(): void {
    must(this.confirm.size === this.window.inFlight, 'unconfirmed = in flight');
    must(this.window.size === this.window.queued + this.confirm.size, 'pending = queued + unconfirmed');
    must(this.window.size + this.resolved.length === this.sent, 'nothing lost');
    for (; this.checked < this.resolved.length; this.checked++) {
      const id = this.resolved[this.checked] as number;
      must(!this.resolvedSet.has(id), `message ${id} confirmed twice`);
      must(this.checked === 0 || id > (this.resolved[this.checked - 1] as number), 'confirmed in write order');
      this.resolvedSet.add(id);
    }
    must(this.barriers <= this.batches, 'never a barrier per message');
  }

  /** No more faults: write everything, let the server answer, until nothing moves. */
  settle(): void {
    for (let round = 0; round < 20 && this.window.size > 0; round++) {
      this.run({ k: 'flush', max: Infinity });
      // Barriers alone must finish the job; only a barrier whose ping the ledger forgot needs the
      // heartbeat's next ping to be unstuck.
      if (round > 0 && this.maxPings < MAX_OUTSTANDING_PINGS) this.run({ k: 'heartbeat' });
      this.run({ k: 'read', n: Infinity });
      while (this.replies.length > 0) this.run({ k: 'pong' });
    }
  }
}

describe('ConfirmLedger + PingLedger + OutboundWindow (property)', () => {
  it('any interleaving of writes, pongs and drops: confirmed means read by the server, unconfirmed is written again in order, nothing twice, nothing lost', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'seq' | 'bare'>('seq', 'bare'),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1, 2, 4, MAX_OUTSTANDING_PINGS),
        fc.array(opArb, { maxLength: 120, size: 'medium' }),
        (style, maxBarriers, maxPings, ops) => {
          const h = new Harness(style, maxBarriers, maxPings);
          for (const op of ops) h.run(op);
          h.settle();
          // Once faults stop, every message is confirmed, in order, once.
          expect(h.window.size).toBe(0);
          expect(h.resolved).toEqual(Array.from({ length: h.sent }, (_, i) => i));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('ConfirmLedger + PingLedger (examples)', () => {
  it('a bare pong for a ping the ledger forgot does not confirm what was written before a later ping', () => {
    const h = new Harness('bare', 1, 1);
    const ops: Op[] = [{ k: 'heartbeat' }, { k: 'send', n: 1 }, { k: 'flush', max: 1 }, { k: 'read', n: 1 }, { k: 'pong' }];
    for (const op of ops) h.run(op);
    expect(h.resolved).toEqual([]); // the server has read only the first ping
    h.settle();
    expect(h.resolved).toEqual([0]);
  });
});
