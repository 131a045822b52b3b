import { HeartbeatMonitor } from '../../src/core/heartbeat';

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

  it('an early wake-up waits; punctual wake-ups reach the dead verdict', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.tick(200)).toEqual({ kind: 'wait', wakeAt: 1000 });
    let r = m.tick(m.wakeAt());
    while (r.kind !== 'dead') r = m.tick(m.wakeAt());
    expect(r.silentMs).toBe(3000);
  });

  it('keeps a bounded number of outstanding pings', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1, timeoutMs: 1_000_000 }, 0);
    for (let t = 1; t <= 500; t++) m.tick(t);
    expect(m.outstandingPings).toBeLessThanOrEqual(64);
  });
});

describe('HeartbeatMonitor and our own stalls', () => {
  it('a timer that fires late after a stall of the process does not blame the peer for the stalled time', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.wakeAt()).toBe(1000);
    // The event loop was blocked from 900 to 5000: the wake-up at 1000 comes at 5000.
    const r = m.tick(5000);
    expect(r.kind).toBe('ping');
    expect(m.stalledMs).toBe(4000);
    // The peer now gets its full budget counted from the end of the stall.
    expect(m.wakeAt()).toBeLessThanOrEqual(6000);
    expect(m.tick(m.wakeAt()).kind).not.toBe('dead');
    expect(m.tick(8000).kind).toBe('dead');
  });

  it('ordinary timer lateness (under the threshold) is not credited', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.tick(1005);
    expect(m.stalledMs).toBe(0);
  });
});
