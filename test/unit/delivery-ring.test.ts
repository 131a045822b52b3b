/**
 * The ring-buffer OutboundWindow (src/core/delivery.ts) against a reference:
 * the array-of-entries window it replaced (session 6), kept here small and
 * obvious. For any sequence of sends, batches, handshake messages, takes,
 * discards, acks, rewinds, resumes, expiries, withdrawals and closes, under
 * either overflow policy and bounds tight enough to overflow, both settle the
 * same messages the same way in the same order, hand out the same ids, and
 * report the same sizes, pending payloads and next expiry. Rings wrap and
 * grow (past 16 slots) under these sequences.
 */
import fc from 'fast-check';
import { OutboundWindow, OverflowPolicy, QueueOptions } from '../../src/core/delivery';
import { ResilientError, sdkError } from '../../src/core/errors';

type Reject = (err: ResilientError) => void;

interface RefEntry {
  id: number;
  payload: Buffer;
  expiresAt: number;
  resolve: () => void;
  reject: Reject;
  ahead: boolean;
  written: boolean;
}

/** The session 6 window's rules, on a plain array of entries. */
class Reference {
  entries: RefEntry[] = [];
  sent = 0;
  nextId = 1;
  maxWritten = 0;
  takenId = 0;
  onDropped: ((id: number, payload: Buffer) => void) | undefined;
  constructor(private readonly opts: QueueOptions) {}

  get size(): number {
    return this.entries.length;
  }
  get sizeBytes(): number {
    return this.entries.reduce((n, e) => n + e.payload.length, 0);
  }
  private fullError(): ResilientError {
    return sdkError('ERR_QUEUE_FULL', 'full');
  }
  private makeRoom(count: number, bytes: number): ResilientError | undefined {
    const { maxMessages, maxBytes } = this.opts;
    if (count > maxMessages || bytes > maxBytes) return this.fullError();
    while (this.size + count > maxMessages || this.sizeBytes + bytes > maxBytes) {
      const at = this.opts.overflow === 'drop-oldest' ? this.entries.findIndex((e, i) => i >= this.sent && !e.written && !e.ahead) : -1;
      if (at < 0) return this.fullError();
      const [victim] = this.entries.splice(at, 1) as [RefEntry];
      victim.reject(sdkError('ERR_QUEUE_FULL', 'dropped'));
      this.onDropped?.(victim.id, victim.payload);
    }
    return undefined;
  }
  enqueue(payload: Buffer, expiresAt: number, resolve: () => void, reject: Reject): number | undefined {
    const refused = this.makeRoom(1, payload.length);
    if (refused) return void reject(refused);
    const id = this.nextId++;
    this.entries.push({ id, payload, expiresAt, resolve, reject, ahead: false, written: false });
    return id;
  }
  enqueueAll(payloads: Buffer[], expiresAt: number, resolve: () => void, reject: Reject): number {
    const refused = this.makeRoom(payloads.length, payloads.reduce((n, p) => n + p.length, 0));
    if (refused) return void reject(refused), 0;
    for (const payload of payloads) this.entries.push({ id: this.nextId++, payload, expiresAt, resolve, reject, ahead: false, written: false });
    return payloads.length;
  }
  enqueueAhead(payload: Buffer, resolve: () => void, reject: Reject): number | undefined {
    const refused = this.makeRoom(1, payload.length);
    if (refused) return void reject(refused);
    let at = this.sent;
    while (at < this.entries.length && this.entries[at]!.written) at++;
    while (at < this.entries.length && this.entries[at]!.ahead) at++;
    const entry: RefEntry = { id: this.nextId++, payload, expiresAt: Infinity, resolve, reject, ahead: true, written: false };
    if (at < this.entries.length) {
      entry.id = this.entries[at]!.id;
      for (let i = at; i < this.entries.length; i++) this.entries[i]!.id++;
    }
    this.entries.splice(at, 0, entry);
    return entry.id;
  }
  takeNext(held: boolean): Buffer | undefined {
    const e = this.entries[this.sent];
    if (!e || (held && !e.written && !e.ahead)) return undefined;
    this.sent++;
    e.written = true;
    this.takenId = e.id;
    if (e.id > this.maxWritten) this.maxWritten = e.id;
    return e.payload;
  }
  discardTaken(err: ResilientError): void {
    if (this.sent === 0) return;
    this.sent--;
    this.entries.splice(this.sent, 1)[0]!.reject(err);
  }
  ack(id: number): number {
    if (id > this.maxWritten) throw sdkError('ERR_PROTOCOL', 'beyond');
    let n = 0;
    while (this.entries.length > 0 && this.entries[0]!.id <= id && this.entries[0]!.written) {
      const e = this.entries.shift()!;
      if (this.sent > 0) this.sent--;
      n++;
      e.resolve();
    }
    return n;
  }
  rewind(): void {
    this.sent = 0;
  }
  resume(acked: number): number {
    if (acked > this.maxWritten) throw sdkError('ERR_PROTOCOL', 'beyond');
    this.rewind();
    return this.ack(acked);
  }
  private removeWhere(pick: (e: RefEntry) => boolean, err: (e: RefEntry) => ResilientError): number {
    let n = 0;
    for (let i = this.sent; i < this.entries.length; ) {
      const e = this.entries[i]!;
      if (!e.written && pick(e)) {
        this.entries.splice(i, 1);
        e.reject(err(e));
        n++;
      } else i++;
    }
    return n;
  }
  expire(now: number): number {
    return this.removeWhere((e) => e.expiresAt <= now, (e) => sdkError('ERR_MESSAGE_EXPIRED', `message ${e.id} expired before it could be sent`));
  }
  withdraw(reject: Reject, err: ResilientError): number {
    return this.removeWhere((e) => e.reject === reject, () => err);
  }
  withdrawAhead(err: ResilientError): void {
    for (let i = this.sent; i < this.entries.length; ) {
      const e = this.entries[i]!;
      if (e.ahead && !e.written) {
        for (let j = i + 1; j < this.entries.length; j++) this.entries[j]!.id--;
        this.nextId--;
        this.entries.splice(i, 1);
        e.reject(err);
      } else i++;
    }
  }
  nextExpiry(): number {
    return Math.min(Infinity, ...this.entries.filter((e) => !e.written).map((e) => e.expiresAt));
  }
  pending(): Buffer[] {
    return this.entries.map((e) => e.payload);
  }
  rejectAll(err: ResilientError): Buffer[] {
    const all = this.entries;
    this.entries = [];
    this.sent = 0;
    for (const e of all) e.reject(err);
    return all.map((e) => e.payload);
  }
}

type Op =
  | { k: 'send'; bytes: number; ttl: number }
  | { k: 'batch'; n: number; ttl: number }
  | { k: 'ahead' }
  | { k: 'take'; n: number; held: boolean }
  | { k: 'discard' }
  | { k: 'ack'; frac: number }
  | { k: 'resume'; frac: number }
  | { k: 'rewind' }
  | { k: 'expire'; now: number }
  | { k: 'withdraw'; pick: number }
  | { k: 'withdrawAhead' }
  | { k: 'rejectAll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('send' as const), bytes: fc.integer({ min: 0, max: 9 }), ttl: fc.integer({ min: 0, max: 40 }) }), weight: 8 },
  { arbitrary: fc.record({ k: fc.constant('batch' as const), n: fc.integer({ min: 1, max: 6 }), ttl: fc.integer({ min: 0, max: 40 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('ahead' as const) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('take' as const), n: fc.integer({ min: 1, max: 8 }), held: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('discard' as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('ack' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant('resume' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('rewind' as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('expire' as const), now: fc.integer({ min: 0, max: 400 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('withdraw' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('withdrawAhead' as const) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('rejectAll' as const) }), weight: 1 },
);

describe('OutboundWindow (ring) settles, numbers and counts as the array-of-entries window did', () => {
  it('for any operations, bounds and overflow policy', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom<OverflowPolicy>('reject', 'drop-oldest'),
        fc.array(opArb, { maxLength: 250 }),
        (maxMessages, maxBytes, overflow, ops) => {
          const opts: QueueOptions = { maxMessages, maxBytes, overflow };
          const ring = new OutboundWindow(opts);
          const ref = new Reference(opts);
          // One log per side: every settlement and every drop, in order, by message name.
          const logs = { ring: [] as string[], ref: [] as string[] };
          // Per message name, each side's own reject (withdraw finds a message by it).
          const rejects: { ring: Reject; ref: Reject }[] = [];
          ring.onDropped = (id, p) => logs.ring.push(`dropped ${id} ${String(p)}`);
          ref.onDropped = (id, p) => logs.ref.push(`dropped ${id} ${String(p)}`);
          let names = 0;
          let now = 0;
          const settlers = (name: string) => {
            const mk = (side: 'ring' | 'ref') => ({
              resolve: () => void logs[side].push(`ok ${name}`),
              reject: (e: ResilientError) => void logs[side].push(`${e.code} ${name}`),
            });
            const a = mk('ring');
            const b = mk('ref');
            rejects.push({ ring: a.reject, ref: b.reject });
            return [a, b] as const;
          };
          const same = <T>(what: string, x: T, y: T): void => {
            expect([what, x]).toEqual([what, y]);
          };
          for (const op of ops) {
            now += 1;
            switch (op.k) {
              case 'send': {
                const name = `m${names++}`;
                const payload = Buffer.from(name.padEnd(op.bytes, '.'));
                const expiresAt = op.ttl === 0 ? Infinity : now + op.ttl;
                const [a, b] = settlers(name);
                same('enqueue', ring.enqueue(payload, expiresAt, a.resolve, a.reject), ref.enqueue(payload, expiresAt, b.resolve, b.reject));
                break;
              }
              case 'batch': {
                const name = `b${names++}`;
                const payloads = Array.from({ length: op.n }, (_, i) => Buffer.from(`${name}.${i}`));
                const expiresAt = op.ttl === 0 ? Infinity : now + op.ttl;
                const [a, b] = settlers(name);
                same('enqueueAll', ring.enqueueAll(payloads, expiresAt, a.resolve, a.reject), ref.enqueueAll(payloads, expiresAt, b.resolve, b.reject));
                break;
              }
              case 'ahead': {
                const name = `h${names++}`;
                const [a, b] = settlers(name);
                same('enqueueAhead', ring.enqueueAhead(Buffer.from(name), a.resolve, a.reject).id, ref.enqueueAhead(Buffer.from(name), b.resolve, b.reject));
                break;
              }
              case 'take':
                for (let i = 0; i < op.n; i++) {
                  const x = ring.takeNext(op.held);
                  const y = ref.takeNext(op.held);
                  same('takeNext', x && `${ring.takenId} ${String(x)}`, y && `${ref.takenId} ${String(y)}`);
                  if (!x) break;
                }
                break;
              case 'discard': {
                const err = sdkError('ERR_FRAME_TOO_LARGE', 'too large');
                ring.discardTaken(err);
                ref.discardTaken(err);
                break;
              }
              case 'ack':
              case 'resume': {
                same('highestWritten', ring.highestWritten, ref.maxWritten);
                const id = Math.floor(op.frac * ref.maxWritten);
                if (op.k === 'ack') same('ack', ring.ack(id), ref.ack(id));
                else same('resume', ring.resume(id), ref.resume(id));
                const beyond = ref.maxWritten + 1;
                expect(() => ring.ack(beyond)).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
                break;
              }
              case 'rewind':
                ring.rewind();
                ref.rewind();
                break;
              case 'expire':
                same('expire', ring.expire(op.now), ref.expire(op.now));
                break;
              case 'withdraw': {
                if (rejects.length === 0) break;
                // One of the last few: older ones are mostly settled already.
                const r = rejects[Math.max(0, rejects.length - 1 - (op.pick % 4))]!;
                const err = sdkError('ERR_ABORTED', 'aborted');
                same('withdraw', ring.withdraw(r.ring, err), ref.withdraw(r.ref, err));
                break;
              }
              case 'withdrawAhead': {
                const err = sdkError('ERR_CONNECTION_LOST', 'lost');
                ring.withdrawAhead(err);
                ref.withdrawAhead(err);
                break;
              }
              case 'rejectAll': {
                const err = sdkError('ERR_CLOSED', 'closed');
                same('rejectAll', ring.rejectAll(err).map(String), ref.rejectAll(err).map(String));
                break;
              }
            }
            same('log', logs.ring, logs.ref);
            same('size', ring.size, ref.size);
            same('inFlight', ring.inFlight, ref.sent);
            same('queued', ring.queued, ref.size - ref.sent);
            same('sizeBytes', ring.sizeBytes, ref.sizeBytes);
            same('peekNextId', ring.peekNextId, ref.nextId);
            same('highestWritten', ring.highestWritten, ref.maxWritten);
            same('pending', ring.pending().map(String), ref.pending().map(String));
            same('nextExpiry', ring.nextExpiry(), ref.nextExpiry());
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('discardTaken() after a takeNext() that found only holes removes the message taken, not a hole (fast-check counterexample)', () => {
    const w = new OutboundWindow({ maxMessages: 2, maxBytes: 4, overflow: 'reject' });
    const log: string[] = [];
    const rejectOf = (name: string) => (e: ResilientError) => void log.push(`${e.code} ${name}`);
    const rejectB = rejectOf('m1');
    w.enqueue(Buffer.from('m0'), Infinity, () => log.push('ok m0'), rejectOf('m0'));
    w.enqueue(Buffer.from('m1'), Infinity, () => log.push('ok m1'), rejectB);
    // m1 withdrawn: a hole behind m0.
    expect(w.withdraw(rejectB, sdkError('ERR_ABORTED', 'aborted'))).toBe(1);
    expect(String(w.takeNext())).toBe('m0');
    // Finds nothing: the cursor moves past the hole.
    expect(w.takeNext()).toBeUndefined();
    w.discardTaken(sdkError('ERR_FRAME_TOO_LARGE', 'too large'));
    expect(log).toEqual(['ERR_ABORTED m1', 'ERR_FRAME_TOO_LARGE m0']);
    expect(w.size).toBe(0);
    expect(w.inFlight).toBe(0);
  });

  it('holds thousands of messages across growth and wrap-around, keeps its ring while runs fill it and lets it go after a small one', () => {
    const w = new OutboundWindow({ maxMessages: 100_000, maxBytes: 1 << 30, overflow: 'reject' });
    const resolved: number[] = [];
    let sent = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 5000; i++) {
        const n = ++sent;
        expect(w.enqueue(Buffer.from(String(n)), Infinity, () => resolved.push(n), () => undefined)).toBe(n);
      }
      // Take and ack all but the last 3,000: the ring's head moves on while its tail wraps round.
      const ids: number[] = [];
      while (w.takeNext()) ids.push(w.takenId);
      expect(ids[ids.length - 1]).toBe(sent);
      w.ack(sent - 3000);
      expect(w.size).toBe(3000);
      expect(w.pending()[0]?.toString()).toBe(String(sent - 2999));
    }
    w.ack(sent);
    expect(resolved).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(w.size).toBe(0);
    const cap = (): number => (w as unknown as { cap: number }).cap;
    // Emptied after a run that used it: the ring stays for the next run.
    expect(cap()).toBe(8192);
    // A small run after it: emptied, the ring grown for the burst goes.
    expect(w.enqueue(Buffer.from('next'), Infinity, () => undefined, () => undefined)).toBe(sent + 1);
    w.takeNext();
    w.ack(sent + 1);
    expect(cap()).toBe(0);
    expect(w.enqueue(Buffer.from('again'), Infinity, () => undefined, () => undefined)).toBe(sent + 2);
    expect(cap()).toBe(8);
  });
});

describe('OutboundWindow (ring): holes behind an unacknowledged head', () => {
  it('an offline window whose sends keep expiring stays bounded, and what it still holds goes out above every id written', () => {
    const w = new OutboundWindow({ maxMessages: 100, maxBytes: 1 << 20, overflow: 'reject' });
    const settled: string[] = [];
    // The head: written on a connection that then died, never acknowledged.
    w.enqueue(Buffer.from('head'), Infinity, () => settled.push('ok head'), () => settled.push('err head'));
    expect(w.takeNext()?.toString()).toBe('head');
    w.rewind();
    // Offline for a long time: a send every tick, each expiring before a reconnect.
    let now = 0;
    for (let i = 0; i < 50_000; i++) {
      w.enqueue(Buffer.from(`e${i}`), now + 1, () => settled.push(`ok e${i}`), () => undefined);
      now += 2;
      expect(w.expire(now)).toBe(1);
    }
    const cap = (): number => (w as unknown as { cap: number }).cap;
    // 50,000 holes would need a 65,536-slot ring; closed up, it stays near SPARE_HOLES.
    expect(cap()).toBeLessThanOrEqual(4096);
    expect(w.size).toBe(1);
    // Back online: a new message, then the resend of the head and the new one, both acknowledged.
    w.enqueue(Buffer.from('late'), Infinity, () => settled.push('ok late'), () => undefined);
    expect(w.takeNext()?.toString()).toBe('head');
    expect(w.takenId).toBe(1);
    expect(w.takeNext()?.toString()).toBe('late');
    const lateId = w.takenId;
    expect(lateId).toBeGreaterThan(1);
    expect(w.takeNext()).toBeUndefined();
    expect(w.ack(lateId)).toBe(2);
    expect(settled).toEqual(['ok head', 'ok late']);
    expect(w.size).toBe(0);
  });
});
