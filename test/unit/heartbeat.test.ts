import { HeartbeatMonitor } from '../../src/core/heartbeat';

describe('HeartbeatMonitor (fake clock)', () => {
  it('pings every intervalMs while frames arrive, and never declares a busy link dead', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.wakeAt()).toBe(1000);
    const kinds: string[] = [];
    for (let t = 1000; t <= 10_000; t += 1000) {
      m.onInbound(t - 500);
      const kind = m.tick(t);
      kinds.push(kind);
      expect(kind).toBe('ping');
      expect(m.wakeAt()).toBe(t + 1000);
    }
    expect(kinds).toHaveLength(10);
  });

  it('wake-ups late by a tick keep the ping schedule: the lateness does not stretch the interval', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    for (let i = 1; i <= 10; i++) {
      const at = m.wakeAt() + 19; // the end of the wheel's tick, and a little timer lateness
      m.onInbound(at - 1);
      expect(m.tick(at, 4)).toBe('ping');
    }
    expect(m.wakeAt()).toBe(11_000);
    expect(m.stalledMs).toBe(0);
  });

  it('declares dead exactly timeoutMs after the last inbound frame', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(500);
    expect(m.tick(1000)).toBe('ping');
    expect(m.tick(2000)).toBe('ping');
    expect(m.tick(3000)).toBe('ping');
    // silence since 500: deadline 3500 is the next wake-up
    expect(m.wakeAt()).toBe(3500);
    expect(m.tick(3499)).not.toBe('dead');
    expect(m.tick(3500)).toBe('dead');
    expect(m.silentMs(3500)).toBe(3000);
  });

  it('an early wake-up waits; punctual wake-ups reach the dead verdict', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.tick(200)).toBe('wait');
    expect(m.wakeAt()).toBe(1000);
    let at = m.wakeAt();
    while (m.tick(at) !== 'dead') at = m.wakeAt();
    expect(m.silentMs(at)).toBe(3000);
  });
});

describe('HeartbeatMonitor skips a ping while frames flow both ways', () => {
  it('no ping is due when frames came in and went out since the last one was due; one either way alone is not enough', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(400);
    m.onOutbound();
    expect(m.tick(1000)).toBe('wait');
    expect(m.wakeAt()).toBe(2000);
    m.onOutbound(); // sending only: the peer may be gone, ask it
    expect(m.tick(2000)).toBe('ping');
    m.onInbound(2500); // receiving only: the peer's idle timer needs a frame from us
    expect(m.tick(3000)).toBe('ping');
    expect(m.tick(4000)).toBe('ping');
  });

  it('traffic both ways never hides a dead peer: silence still ends in the verdict', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(100);
    m.onOutbound();
    expect(m.tick(1000)).toBe('wait');
    for (const t of [2000, 3000]) {
      m.onOutbound();
      expect(m.tick(t)).toBe('ping');
    }
    expect(m.tick(3100)).toBe('dead');
    expect(m.silentMs(3100)).toBe(3000);
  });

  it('after a stall of our own process a ping goes out even if frames flowed both ways', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(500);
    m.onOutbound();
    expect(m.tick(6000, 5000)).toBe('ping');
  });
});

describe('HeartbeatMonitor and our own stalls', () => {
  it('a timer that fires late after a stall of the process does not blame the peer for the stalled time', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.wakeAt()).toBe(1000);
    // The event loop was blocked from 900 to 5000: the wake-up at 1000 comes at 5000.
    const r = m.tick(5000);
    expect(r).toBe('ping');
    expect(m.stalledMs).toBe(4000);
    // The peer now gets its full budget counted from the end of the stall.
    expect(m.wakeAt()).toBeLessThanOrEqual(6000);
    expect(m.tick(m.wakeAt())).not.toBe('dead');
    expect(m.tick(8000)).toBe('dead');
  });

  it('ordinary timer lateness (under the threshold) is not credited', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.tick(1005);
    expect(m.stalledMs).toBe(0);
  });

  it("credits the lateness its timer reports (the wheel's, without its tick's rounding), not its own guess", () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    // Woken at the end of the tick holding 1000, 39 ms after wakeAt(), but only 1 ms late for the wheel.
    m.tick(1039, 1);
    expect(m.stalledMs).toBe(0);
    m.tick(m.wakeAt() + 4000, 4000);
    expect(m.stalledMs).toBe(4000);
  });
});

describe('HeartbeatMonitor keeps whole ms (small integers V8 stores in the object, bench/heap-per-client.ts)', () => {
  it('a fractional interval (deadAfterMs / 3) is rounded: every time it hands out is an integer', () => {
    const m = new HeartbeatMonitor({ intervalMs: 10_000 / 3, timeoutMs: 10_000 }, 0);
    expect(m.wakeAt()).toBe(3333);
    expect(m.tick(3333)).toBe('ping');
    expect(m.wakeAt()).toBe(6666);
  });

  it('timeoutMs Infinity (pinging only so the server does not sweep us) never declares the link dead', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: Infinity }, 0);
    for (let t = 1000; t <= 100_000; t += 1000) expect(m.tick(t)).toBe('ping');
    expect(m.wakeAt()).toBe(101_000);
  });
});

describe("HeartbeatMonitor is the client's one ping ledger, restarted by each link that opens", () => {
  it("restart() starts a fresh schedule (silence, stalls, traffic) and keeps the ledger: seqs keep rising, an old link's pong matches nothing", () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.sent(1000)).toBe(0);
    expect(m.match(0, 1040)).toEqual({ seq: 0, rttMs: 40, mark: 0 });
    expect(m.sent(2000)).toBe(1);
    // A stall, then the link is lost: the client clears the pings that can never be answered, the next link restarts.
    expect(m.tick(9000, 7000)).toBe('ping');
    expect(m.stalledMs).toBeGreaterThan(0);
    m.clear();
    m.restart({ intervalMs: 500, timeoutMs: 1500 }, 20_000);
    expect(m.stalledMs).toBe(0);
    expect(m.wakeAt()).toBe(20_500);
    expect(m.silentMs(20_100)).toBe(100);
    // Nothing heard since the restart: not dead before 1500 ms of the new link's silence, dead at it.
    expect(m.tick(20_500, 0)).toBe('ping');
    expect(m.tick(21_000, 0)).toBe('ping');
    expect(m.tick(21_499, 0)).toBe('wait');
    expect(m.tick(21_500, 0)).toBe('dead');
    // The ledger went on: the next seq is 2, the old link's ping 1 is not matched, and the last RTT is kept.
    expect(m.match(1, 20_600)).toBeUndefined();
    expect(m.rttMs).toBe(40);
    expect(m.sent(20_600)).toBe(2);
  });

  it('traffic seen before a restart does not skip the first ping of the next link', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    m.onInbound(100);
    m.onOutbound();
    m.restart({ intervalMs: 1000, timeoutMs: 3000 }, 200);
    expect(m.tick(1200, 0)).toBe('ping');
  });
});
