import type { NetworkInterfaceInfo } from 'node:os';
import { NETWORK_CHECK_MS, NetworkWatcher, addressKey, watchLocalAddress, type WatchTimers } from '../../src/io/network-watch';

/** A clock the test moves by hand; it holds the timers the watcher sets. */
class FakeClock implements WatchTimers {
  now = 0;
  private seq = 0;
  readonly pending = new Map<number, { at: number; ms: number; fn: () => void }>();
  set(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  /** Intervals of the timers pending now. */
  get timers(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (let i = 0; i < 10_000; i++) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      const [id, t] = due;
      this.pending.delete(id);
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
}

function v4(address: string): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` };
}
function v6(address: string, scopeid = 0): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid };
}

/** A machine whose interfaces the test edits. */
function rig(initial: Record<string, NetworkInterfaceInfo[]>) {
  const clock = new FakeClock();
  let ifaces: Record<string, NetworkInterfaceInfo[]> = initial;
  let reads = 0;
  const watcher = new NetworkWatcher(() => {
    reads++;
    return ifaces;
  }, clock);
  return {
    clock,
    watcher,
    get reads() {
      return reads;
    },
    setInterfaces(next: Record<string, NetworkInterfaceInfo[]>) {
      ifaces = next;
    },
  };
}

const LO = [
  { ...v4('127.0.0.1'), internal: true },
  { ...v6('::1'), internal: true },
];

describe('NetworkWatcher (fake clock)', () => {
  it('runs no timer while nobody is subscribed, one while somebody is, none after the last unsubscribes', () => {
    const r = rig({ lo: LO, eth0: [v4('10.0.0.2')] });
    expect(r.clock.timers).toEqual([]);
    const off1 = r.watcher.watch('10.0.0.2', 2000, () => undefined);
    const off2 = r.watcher.watch('10.0.0.2', 2000, () => undefined);
    expect(r.clock.timers).toEqual([2000]);
    r.clock.advance(10_000);
    expect(r.reads).toBe(5);
    off1();
    expect(r.clock.timers).toEqual([2000]);
    off2();
    off2(); // idempotent
    expect(r.clock.timers).toEqual([]);
    expect(r.watcher.period).toBeUndefined();
    r.clock.advance(10_000);
    expect(r.reads).toBe(5);
  });

  it('polls at the shortest interval asked for; when that subscriber leaves, the next one takes over', () => {
    const r = rig({ eth0: [v4('10.0.0.2')] });
    const offSlow = r.watcher.watch('10.0.0.2', 5000, () => undefined);
    expect(r.clock.timers).toEqual([5000]);
    r.clock.advance(1000);
    const offFast = r.watcher.watch('10.0.0.2', 1000, () => undefined);
    // Brought forward: one timer, at the shorter interval, from now.
    expect(r.clock.timers).toEqual([1000]);
    r.clock.advance(3000);
    expect(r.reads).toBe(3);
    offFast();
    r.clock.advance(1000); // the timer already set still fires once
    expect(r.reads).toBe(4);
    expect(r.watcher.period).toBe(5000);
    r.clock.advance(10_000);
    expect(r.reads).toBe(6);
    offSlow();
    expect(r.clock.timers).toEqual([]);
  });

  it('tells a subscriber once, within one interval, when its address leaves every interface; the others are not told', () => {
    const r = rig({ lo: LO, eth0: [v4('10.0.0.2'), v6('2001:db8::2')], wlan0: [v4('192.168.1.7')] });
    const told: string[] = [];
    r.watcher.watch('10.0.0.2', 2000, () => told.push('a'));
    r.watcher.watch('192.168.1.7', 2000, () => told.push('b'));
    r.watcher.watch('2001:db8::2', 2000, () => told.push('c'));
    r.clock.advance(4000);
    expect(told).toEqual([]);

    r.setInterfaces({ lo: LO, eth0: [v6('2001:db8::2')], wlan0: [v4('192.168.1.7')] }); // 10.0.0.2 deleted
    r.clock.advance(1999);
    expect(told).toEqual([]);
    r.clock.advance(1);
    expect(told).toEqual(['a']);
    expect(r.watcher.size).toBe(2);

    r.setInterfaces({ lo: LO, eth0: [v4('10.0.0.9')], wlan0: [v4('192.168.1.7')] }); // another change
    r.clock.advance(10_000);
    expect(told).toEqual(['a', 'c']);
  });

  it('an address that moves to another interface is still local: nobody is told', () => {
    const r = rig({ eth0: [v4('10.0.0.2')], eth1: [] });
    const told = jest.fn();
    r.watcher.watch('10.0.0.2', 1000, told);
    r.setInterfaces({ eth0: [], eth1: [v4('10.0.0.2')] });
    r.clock.advance(5000);
    expect(told).not.toHaveBeenCalled();
  });

  it('a subscriber whose address was already gone is told at the first tick, never synchronously', () => {
    const r = rig({ eth0: [v4('10.0.0.2')] });
    r.watcher.watch('10.0.0.2', 1000, () => undefined);
    r.clock.advance(1000); // the watcher has seen this list
    const told = jest.fn();
    r.watcher.watch('10.0.0.3', 1000, told); // the list has not changed since
    expect(told).not.toHaveBeenCalled();
    r.clock.advance(1000);
    expect(told).toHaveBeenCalledTimes(1);
  });

  it('IPv6 with a scope id: gone when its own interface loses it, even if another interface has the same link-local address', () => {
    const r = rig({ eth0: [v6('fe80::1', 2)], eth1: [v6('fe80::1', 3)] });
    const byName = jest.fn();
    const byIndex = jest.fn();
    const other = jest.fn();
    r.watcher.watch('fe80::1%eth0', 1000, byName); // Node's localAddress for a link-local socket on Linux
    r.watcher.watch('FE80:0:0::1%2', 1000, byIndex); // numeric scope (Windows), non-canonical text
    r.watcher.watch('fe80::1%eth1', 1000, other);
    r.clock.advance(2000);
    expect([byName, byIndex, other].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
    r.setInterfaces({ eth0: [], eth1: [v6('fe80::1', 3)] });
    r.clock.advance(1000);
    expect([byName, byIndex, other].map((f) => f.mock.calls.length)).toEqual([1, 1, 0]);
  });

  it('an IPv4-mapped IPv6 address is its IPv4 address', () => {
    const r = rig({ eth0: [v4('10.0.0.2')] });
    const told = jest.fn();
    r.watcher.watch('::ffff:10.0.0.2', 1000, told);
    r.clock.advance(3000);
    expect(told).not.toHaveBeenCalled();
    r.setInterfaces({ eth0: [] });
    r.clock.advance(1000);
    expect(told).toHaveBeenCalledTimes(1);
  });

  it('loopback, unspecified and missing addresses are never gone: no subscription, no timer', () => {
    const r = rig({});
    const told = jest.fn();
    for (const a of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '0.0.0.0', '::', undefined]) r.watcher.watch(a, 1000, told);
    expect(r.clock.timers).toEqual([]);
    expect(r.watcher.size).toBe(0);
    r.clock.advance(5000);
    expect(told).not.toHaveBeenCalled();
  });

  it('an interface list that cannot be read tells nobody, and the watch goes on', () => {
    let fail = true;
    const clock = new FakeClock();
    const w = new NetworkWatcher(() => {
      if (fail) throw new Error('uv_interface_addresses failed');
      return {};
    }, clock);
    const told = jest.fn();
    w.watch('10.0.0.2', 1000, told);
    clock.advance(3000);
    expect(told).not.toHaveBeenCalled();
    expect(clock.timers).toEqual([1000]);
    fail = false;
    clock.advance(1000);
    expect(told).toHaveBeenCalledTimes(1);
  });

  it('a subscriber that throws does not keep the others from being told', async () => {
    const r = rig({ eth0: [v4('10.0.0.2')] });
    const second = jest.fn();
    r.watcher.watch('10.0.0.2', 1000, () => {
      throw new Error('subscriber bug');
    });
    r.watcher.watch('10.0.0.2', 1000, second);
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    };
    try {
      r.setInterfaces({ eth0: [] });
      r.clock.advance(1000);
    } finally {
      globalThis.queueMicrotask = original;
    }
    expect(second).toHaveBeenCalledTimes(1);
    expect(thrown).toEqual([new Error('subscriber bug')]);
  });

  it('a subscriber told may subscribe again (a reconnect from its new address) from inside its callback', () => {
    const r = rig({ eth0: [v4('10.0.0.2')] });
    const again = jest.fn();
    r.watcher.watch('10.0.0.2', 1000, () => r.watcher.watch('10.0.0.3', 1000, again));
    r.setInterfaces({ eth0: [v4('10.0.0.3')] });
    r.clock.advance(1000);
    expect(r.watcher.size).toBe(1);
    expect(r.clock.timers).toEqual([1000]);
    r.clock.advance(5000);
    expect(again).not.toHaveBeenCalled();
  });

  it('invalid arguments throw a TypeError naming them', () => {
    const r = rig({});
    expect(() => r.watcher.watch('10.0.0.2', 0, () => undefined)).toThrow(/intervalMs .*got 0/);
    expect(() => r.watcher.watch('10.0.0.2', Infinity, () => undefined)).toThrow(TypeError);
    expect(() => r.watcher.watch('10.0.0.2', NaN, () => undefined)).toThrow(/intervalMs/);
    expect(() => r.watcher.watch('10.0.0.2', 1000, 'x' as unknown as () => void)).toThrow(/onGone/);
    expect(() => r.watcher.watch('example.com', 1000, () => undefined)).toThrow(/address .*example\.com/);
    expect(() => r.watcher.watch('10.0.0.2%eth0', 1000, () => undefined)).toThrow(TypeError);
    expect(() => r.watcher.watch('fe80::1%', 1000, () => undefined)).toThrow(TypeError);
    expect(r.clock.timers).toEqual([]);
  });
});

describe('addressKey', () => {
  it.each([
    ['10.0.0.2', '10.0.0.2'],
    ['2001:DB8:0:0:0:0:0:2', '2001:db8::2'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['127.0.0.1', null],
    ['::1', null],
    ['::', null],
  ])('%s -> %s', (input, key) => {
    expect(addressKey(input)).toBe(key);
  });
});

describe('the process-wide watch (real os, real timer)', () => {
  it('defaults to a 2 s interval, and its timer is unref’d: it never keeps the process alive', () => {
    expect(NETWORK_CHECK_MS).toBe(2000);
    const w = new NetworkWatcher();
    const timeouts = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    const before = timeouts();
    const off = w.watch('192.0.2.200', 60_000, () => undefined);
    expect(w.period).toBe(60_000);
    expect(timeouts()).toBe(before); // getActiveResourcesInfo lists ref'd timers only
    off();
    expect(w.period).toBeUndefined();
  });

  it('watchLocalAddress returns an unsubscribe; loopback is not watched', () => {
    const off = watchLocalAddress('127.0.0.1', NETWORK_CHECK_MS, () => undefined);
    expect(typeof off).toBe('function');
    off();
  });
});
