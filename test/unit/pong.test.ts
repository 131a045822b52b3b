import fc from 'fast-check';
import { MAX_OUTSTANDING_PINGS, PingLedger, pongOf, routePong } from '../../src/core/pong';

describe('pongOf (what isPong returned)', () => {
  it.each([
    [false, undefined],
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    [true, true],
    [0, 0],
    [7, 7],
    [-1, -1],
    ['yes', true],
    [['PONG'], true],
  ])('%p -> %p', (input, expected) => {
    expect(pongOf(input)).toBe(expected);
  });

  it('keeps NaN a number (it matches no ping)', () => {
    expect(pongOf(NaN)).toBeNaN();
  });
});

describe('PingLedger', () => {
  it('gives seqs from 0, matches a numbered pong exactly, with its RTT on the fake clock', () => {
    const l = new PingLedger();
    expect(l.sent(1000)).toBe(0);
    expect(l.sent(1500)).toBe(1);
    expect(l.sent(2000)).toBe(2);
    // The pong for ping 1 settles ping 0 too (in order), not ping 2.
    expect(l.match(1, 1520)).toEqual({ seq: 1, rttMs: 20, mark: 0 });
    expect(l.outstanding).toBe(1);
    expect(l.match(0, 1600)).toBeUndefined();
    expect(l.match(2, 2003)).toEqual({ seq: 2, rttMs: 3, mark: 0 });
    expect(l.rttMs).toBe(3);
    expect(l.outstanding).toBe(0);
  });

  it('has no RTT before a pong matched, and keeps the last one across clear()', () => {
    const l = new PingLedger();
    expect(l.rttMs).toBeUndefined();
    l.sent(10);
    l.sent(20);
    l.sent(30);
    // A numbered pong for the newest settles the two before it too.
    expect(l.match(2, 34)).toEqual({ seq: 2, rttMs: 4, mark: 0 });
    expect(l.outstanding).toBe(0);
    l.clear();
    expect(l.rttMs).toBe(4);
  });

  it('matches a bare pong to the oldest outstanding ping', () => {
    const l = new PingLedger();
    l.sent(0, 5);
    l.sent(10, 9);
    expect(l.match(true, 30)).toEqual({ seq: 0, rttMs: 30, mark: 5 });
    expect(l.match(true, 35)).toEqual({ seq: 1, rttMs: 25, mark: 9 });
    expect(l.match(true, 40)).toBeUndefined();
  });

  it('treats 0 as a seq and ignores seqs it never sent, fractions and NaN', () => {
    const l = new PingLedger();
    l.sent(0);
    expect(l.match(0.5, 1)).toBeUndefined();
    expect(l.match(NaN, 1)).toBeUndefined();
    expect(l.match(99, 1)).toBeUndefined();
    expect(l.outstanding).toBe(1);
    expect(l.match(0, 1)?.seq).toBe(0);
  });

  it('never reports a negative RTT when the clock steps back', () => {
    const l = new PingLedger();
    l.sent(100);
    expect(l.match(0, 50)?.rttMs).toBe(0);
  });

  it('keeps counting seqs across clear(), so a pong from an earlier connection matches nothing', () => {
    const l = new PingLedger();
    l.sent(0);
    l.sent(0);
    l.clear();
    expect(l.outstanding).toBe(0);
    expect(l.sent(0)).toBe(2);
    expect(l.match(0, 1)).toBeUndefined();
    expect(l.match(1, 1)).toBeUndefined();
    expect(l.match(2, 1)?.seq).toBe(2);
  });

  it('wraps seqs at 2^32', () => {
    const l = new PingLedger(MAX_OUTSTANDING_PINGS, 2 ** 32 - 1);
    expect(l.sent(0)).toBe(2 ** 32 - 1);
    expect(l.sent(0)).toBe(0);
  });

  it('forgets the oldest past its bound, and a bare pong pays for a forgotten ping before matching', () => {
    const l = new PingLedger(2);
    l.sent(0, 1);
    l.sent(0, 2);
    l.sent(0, 3); // ping 0 forgotten
    expect(l.outstanding).toBe(2);
    expect(l.match(0, 1)).toBeUndefined(); // numbered: unknown now
    // In order, the server's first bare pong answers ping 0, so it must not be credited to ping 1.
    expect(l.match(true, 1)).toBeUndefined();
    expect(l.match(true, 1)?.mark).toBe(2);
  });

  it('a numbered pong settles forgotten pings too', () => {
    const l = new PingLedger(1);
    l.sent(0, 1);
    l.sent(0, 2); // ping 0 forgotten
    l.sent(0, 3); // ping 1 forgotten
    expect(l.match(2, 1)?.mark).toBe(3);
    l.sent(0, 4);
    expect(l.match(true, 1)?.seq).toBe(3);
  });

  it('property: with pings answered in order, a bare pong and a numbered pong find the same ping', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('ping', 'pong'), { maxLength: 200, size: 'medium' }), fc.integer({ min: 1, max: 8 }), (ops, max) => {
        const bare = new PingLedger(max);
        const numbered = new PingLedger(max);
        const unanswered: number[] = [];
        let t = 0;
        for (const op of ops) {
          t += 1;
          if (op === 'ping') {
            unanswered.push(bare.sent(t, t));
            numbered.sent(t, t);
          } else if (unanswered.length > 0) {
            const seq = unanswered.shift() as number;
            const a = bare.match(true, t);
            const b = numbered.match(seq, t);
            expect(a).toEqual(b);
          }
          expect(bare.outstanding).toBeLessThanOrEqual(max);
        }
      }),
    );
  });
});

describe('routePong', () => {
  it('not a pong: a message', () => {
    const l = new PingLedger();
    l.sent(0);
    expect(routePong(l, false, 1)).toEqual({ kind: 'message' });
    expect(routePong(l, undefined, 1)).toEqual({ kind: 'message' });
    expect(l.outstanding).toBe(1);
  });

  it("a numbered pong that answers none of our pings is a message again (the app's own PING)", () => {
    const l = new PingLedger();
    l.sent(0);
    expect(routePong(l, 42, 1)).toEqual({ kind: 'message' });
    expect(l.outstanding).toBe(1);
  });

  it('a numbered pong of ours is a pong with its match', () => {
    const l = new PingLedger();
    l.sent(10, 3);
    expect(routePong(l, 0, 14)).toEqual({ kind: 'pong', match: { seq: 0, rttMs: 4, mark: 3 } });
  });

  it('a bare pong is a pong even with no ping outstanding (it is never emitted)', () => {
    const l = new PingLedger();
    expect(routePong(l, true, 1)).toEqual({ kind: 'pong', match: undefined });
  });
});
