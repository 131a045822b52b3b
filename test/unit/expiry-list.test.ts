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
