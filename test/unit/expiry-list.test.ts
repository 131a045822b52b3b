import fc from 'fast-check';
import { ExpiryList, expiryNode } from '../../src/server/expiry-list';

describe('ExpiryList', () => {
  it('expires in touch order and only what is due', () => {
    const l = new ExpiryList<string>();
    const a = expiryNode('a');
    const b = expiryNode('b');
    const c = expiryNode('c');
    l.touch(a, 0);
    l.touch(b, 10);
    l.touch(c, 20);
    l.touch(a, 30); // a is alive again
    expect(l.expire(25, 10)).toEqual(['b']);
    expect(l.expire(100, 10)).toEqual(['c', 'a']);
    expect(l.size).toBe(0);
  });

  it('remove and double touch keep the list consistent', () => {
    const l = new ExpiryList<number>();
    const n = [0, 1, 2].map((i) => expiryNode(i));
    n.forEach((x, i) => l.touch(x, i));
    l.remove(n[1]!);
    l.remove(n[1]!);
    l.touch(n[2]!, 5);
    expect([...l.values()]).toEqual([0, 2]);
  });

  it('a sweep with nothing expired inspects only the head', () => {
    const l = new ExpiryList<number>();
    for (let i = 0; i < 10_000; i++) l.touch(expiryNode(i), 1000 + i);
    // Counting work: expire() is a loop over expired members only.
    expect(l.expire(1500, 1000)).toEqual([]);
    expect(l.size).toBe(10_000);
  });

  it('property: expire returns exactly the members last touched at or before now - ttl, oldest first', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 100 }), fc.integer({ min: 0, max: 1200 }), (touches, now) => {
        const l = new ExpiryList<number>();
        const nodes = Array.from({ length: 21 }, (_, i) => expiryNode(i));
        const last = new Map<number, number>();
        let t = 0;
        for (const [i] of touches) {
          t++;
          l.touch(nodes[i]!, t);
          last.set(i, t);
        }
        const out = l.expire(now, 5);
        const expected = [...last.entries()].filter(([, at]) => at <= now - 5).sort((x, y) => x[1] - y[1]).map(([i]) => i);
        expect(out).toEqual(expected);
      }),
    );
  });
});

describe('ExpiryList with a node moving between lists', () => {
  it('a node is in one list at a time; removing it from a list it is not in changes nothing', () => {
    const handshaking = new ExpiryList<string>();
    const active = new ExpiryList<string>();
    const a = expiryNode('a');
    const b = expiryNode('b');
    const c = expiryNode('c');
    handshaking.touch(b, 0); // b never says HELLO
    handshaking.touch(a, 1);
    active.touch(a, 2); // a moves on: out of handshaking
    active.touch(c, 3);
    expect([...handshaking.values()]).toEqual(['b']);
    handshaking.remove(a); // a is not there: nothing happens to b
    active.remove(a);
    expect([...handshaking.values()]).toEqual(['b']);
    expect([...active.values()]).toEqual(['c']);
    expect(handshaking.expire(100, 10)).toEqual(['b']);
    expect(active.size).toBe(1);
  });
});

describe('ExpiryList with a lazy touch (slackMs)', () => {
  it('a touch within slackMs of the last move writes the time only; an older place moves to the tail', () => {
    const l = new ExpiryList<string>(100);
    const a = expiryNode('a');
    const b = expiryNode('b');
    l.touch(a, 0);
    l.touch(b, 10);
    l.touch(a, 99); // placed at 0, 99 ms ago: stays at the head
    expect([...l.values()]).toEqual(['a', 'b']);
    expect(a.at).toBe(99);
    expect(a.placedAt).toBe(0);
    l.touch(a, 100); // its place is 100 ms old: moves
    expect([...l.values()]).toEqual(['b', 'a']);
    expect(a.placedAt).toBe(100);
  });

  it('the sweep skips a member placed before the cutoff but touched after it, and expires the dead one behind it', () => {
    const l = new ExpiryList<string>(50);
    const a = expiryNode('a');
    const b = expiryNode('b');
    l.touch(a, 0);
    l.touch(b, 1);
    l.touch(a, 40); // lazy: a keeps its place ahead of b
    expect(l.expire(1 + 100, 100)).toEqual(['b']);
    expect([...l.values()]).toEqual(['a']);
    expect(l.expire(140, 100)).toEqual(['a']);
  });

  it('live members that touch more often than the timeout minus slackMs keep a sweep at the head', () => {
    const ttl = 30_000;
    const l = new ExpiryList<number>(ttl / 2);
    const nodes = Array.from({ length: 10_000 }, (_, i) => expiryNode(i));
    // Each member reads every 1,000 ms (offset by its index), for 5 timeouts.
    for (let t = 0; t < 5 * ttl; t += 1000) {
      for (const n of nodes) l.touch(n, t + (n.value % 1000) / 10);
      expect(l.expire(t + 999, ttl)).toEqual([]);
      expect(l.lastSweepVisits).toBe(1);
    }
  });

  it('property: with any slack, sweeps at increasing times expire exactly the members silent for ttl, and never look at a member placed after the cutoff', () => {
    // Small steps against the timeout, so sweeps often find members on both sides of the cutoff.
    const dt = fc.integer({ min: 0, max: 8 });
    const step = fc.oneof(fc.record({ touch: fc.integer({ min: 0, max: 9 }), dt }), fc.record({ sweep: fc.constant(true), dt }));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.array(step, { maxLength: 200 }), (slack, ttl, steps) => {
        const l = new ExpiryList<number>(slack);
        const nodes = Array.from({ length: 10 }, (_, i) => expiryNode(i));
        const last = new Map<number, number>();
        let now = 0;
        for (const s of steps) {
          now += s.dt;
          if ('touch' in s) {
            l.touch(nodes[s.touch]!, now);
            last.set(s.touch, now);
            continue;
          }
          const expected = [...last].filter(([, at]) => at <= now - ttl).map(([i]) => i);
          const out = l.expire(now, ttl);
          expect([...out].sort()).toEqual(expected.sort());
          for (const i of out) last.delete(i);
          // Looked at: the expired, the members placed at or before the cutoff, and one more.
          const placedBefore = nodes.filter((n) => n.owner === l && n.placedAt <= now - ttl).length;
          expect(l.lastSweepVisits).toBeLessThanOrEqual(out.length + placedBefore + 1);
          expect(l.size).toBe(last.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
