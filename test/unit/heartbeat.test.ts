import { HeartbeatMonitor } from '../../src/heartbeat';

describe('HeartbeatMonitor (fake clock)', () => {
  it('pings every intervalMs while frames arrive, and never declares a busy link dead', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.wakeAt()).toBe(1000);
    const pings: number[] = [];
    for (let t = 1000; t <= 10_000; t += 1000) {
      m.onInbound(t - 500);
      const r = m.tick(t);
      expect(r.kind).toBe('ping');
      if (r.kind === 'ping') pings.push(r.ping.seq);
    }
    expect(pings).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('declares dead exactly timeoutMs after the last inbound frame', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(500);
    expect(m.tick(1000).kind).toBe('ping');
    expect(m.tick(2000).kind).toBe('ping');
    expect(m.tick(3000).kind).toBe('ping');
    // silence since 500: deadline 3500 is the next wake-up
    expect(m.wakeAt()).toBe(3500);
    expect(m.tick(3499).kind).not.toBe('dead');
    const r = m.tick(3500);
    expect(r).toEqual({ kind: 'dead', silentMs: 3000 });
  });

  it('matches pongs by seq and measures RTT; unknown seqs are ignored', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    const r = m.tick(1000);
    if (r.kind !== 'ping') throw new Error('expected a ping');
    expect(m.onPong(r.ping.seq + 7, 1010)).toBeUndefined();
    expect(m.onPong(r.ping.seq, 1042)).toBe(42);
    expect(m.rttMs).toBe(42);
    expect(m.outstandingPings).toBe(0);
    expect(m.onPong(r.ping.seq, 1050)).toBeUndefined(); // answered already
  });

  it('a late wake-up still declares dead; an early one waits', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.tick(200)).toEqual({ kind: 'wait', wakeAt: 1000 });
    expect(m.tick(9000).kind).toBe('dead');
  });

  it('keeps a bounded number of outstanding pings', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1, timeoutMs: 1_000_000 }, 0);
    for (let t = 1; t <= 500; t++) m.tick(t);
    expect(m.outstandingPings).toBeLessThanOrEqual(64);
  });
});
