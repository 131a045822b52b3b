/**
 * The stall rule (src/core/clock.ts) and the deadline built on it
 * (src/io/deadline.ts, an entry on a timer wheel), with a fake clock: a stall is the clock jumping
 * while no timer runs, as when the process is stopped (SIGSTOP), a laptop
 * sleeps or a synchronous task blocks the loop.
 */
import { STALL_THRESHOLD_MS, StalledTime, stallMs, stallOf } from '../../src/core/clock';
import { HeartbeatMonitor } from '../../src/core/heartbeat';
import { Deadline } from '../../src/io/deadline';
import { MAX_DELAY_MS, TimerWheel } from '../../src/io/timer-wheel';

describe('the stall rule', () => {
  it('a timer late by no more than the threshold was not stalled; later than that, its lateness is the stall', () => {
    expect(stallMs(1000, 1000)).toBe(0);
    expect(stallMs(1000, 1000 + STALL_THRESHOLD_MS)).toBe(0);
    expect(stallMs(1000, 1000 + STALL_THRESHOLD_MS + 1)).toBe(STALL_THRESHOLD_MS + 1);
    expect(stallMs(1000, 21_000)).toBe(20_000);
    // The same rule on a lateness the timer wheel reports.
    expect(stallOf(STALL_THRESHOLD_MS)).toBe(0);
    expect(stallOf(STALL_THRESHOLD_MS + 1)).toBe(STALL_THRESHOLD_MS + 1);
  });

  it("a periodic check's credited clock excludes every stall it saw (the server's sweep)", () => {
    const s = new StalledTime();
    expect(s.note(1000, 1005)).toBe(0);
    expect(s.note(2000, 22_000)).toBe(20_000);
    expect(s.note(23_000, 23_500)).toBe(500);
    expect(s.credited(30_000)).toBe(30_000 - 20_500);
    expect(s.credit(STALL_THRESHOLD_MS)).toBe(0);
    expect(s.credit(1000)).toBe(1000);
    expect(s.total).toBe(21_500);
  });
});

describe('Deadline (a timer wheel on fake timers, injected clock)', () => {
  let now = 0;
  let wheel: TimerWheel;
  /** Moves the clock and runs the timers due by then, as the event loop would. */
  const run = (ms: number): void => {
    now += ms;
    jest.advanceTimersByTime(ms);
  };
  /** A stall: the clock jumps `ms` while nothing runs; then the timers phase runs the late timers. */
  const stall = (ms: number): void => {
    now += ms;
    jest.advanceTimersToNextTimer();
  };
  /** The poll phase and then the check phase of the same loop turn: `reads` run before setImmediate callbacks. */
  const pollThenCheck = (reads: () => void = () => {}): void => {
    reads();
    jest.runOnlyPendingTimers();
  };

  beforeEach(() => {
    now = 0;
    jest.useFakeTimers({ doNotFake: ['performance', 'Date'] });
    wheel = new TimerWheel({ now: () => now });
  });
  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  it('without a stall it fires at its length, and not before', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    d.arm(2000);
    run(1999);
    expect(fired).not.toHaveBeenCalled();
    run(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(d.armed).toBe(false);
  });

  it('a short stall (ordinary lateness) fires it at once, in the timers phase', () => {
    const fired = jest.fn();
    new Deadline(wheel, fired, false).arm(2000);
    now += 1990;
    stall(STALL_THRESHOLD_MS);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it.each([2_500, 12_000, 20_000, 600_000])(
    'after a %i ms stall it waits one poll phase for the reads, then fires: not the stall length again',
    (stallLength) => {
      const fired = jest.fn();
      new Deadline(wheel, fired, false).arm(2000);
      stall(stallLength);
      // The late timer ran, but the bytes that arrived meanwhile are still unread.
      expect(fired).not.toHaveBeenCalled();
      pollThenCheck();
      expect(fired).toHaveBeenCalledTimes(1);
      // Fired at the wake, where the old rule re-armed for as long as it was late.
      expect(now).toBe(stallLength);
    },
  );

  it('a reply read in the poll phase after the stall is handled before the deadline can fire', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    d.arm(2000);
    stall(20_000);
    pollThenCheck(() => d.clear()); // the WELCOME (or the rest of the frame) was in the kernel's buffer
    run(10_000);
    expect(fired).not.toHaveBeenCalled();
  });

  it('a stage reached in the poll phase after a stall restarts its own length from the wake, no more', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    d.arm(2000);
    stall(20_000);
    const wake = now;
    pollThenCheck(() => d.progress()); // TCP came up: the handshake gets the deadline's length
    expect(fired).not.toHaveBeenCalled();
    run(1999);
    expect(fired).not.toHaveBeenCalled();
    run(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(now - wake).toBe(2000);
  });

  it('progress without a stall changes nothing', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    d.arm(2000);
    run(1500);
    d.progress();
    run(500);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('re-arming keeps one Node timer (the wheel\'s) and moves the due time; clear() stops it', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    d.arm(1000);
    run(600);
    d.arm(1000); // due at 1600; the wheel's timer due at 1000 finds nothing and re-arms
    expect(jest.getTimerCount()).toBe(1);
    run(400);
    expect(fired).not.toHaveBeenCalled();
    run(600);
    expect(fired).toHaveBeenCalledTimes(1);
    d.arm(1000);
    d.clear();
    expect(jest.getTimerCount()).toBe(0);
    run(5000);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('a deadline re-armed every read keeps its place in the wheel and fires its length after the last one', () => {
    const fired = jest.fn();
    const d = new Deadline(wheel, fired, false);
    for (let i = 0; i < 100; i++) {
      d.arm(1000, now); // one clock read per socket read, passed in
      run(7);
    }
    const last = now - 7;
    run(1000 - 7 - 1);
    expect(fired).not.toHaveBeenCalled();
    run(1 + wheel.tickMs);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(now - last).toBeLessThanOrEqual(1000 + wheel.tickMs);
  });

  it("a deadline longer than the wheel's longest delay fires at its own length, not early", () => {
    // A coarse wheel (ticks of 2^16 ms, one revolution 2^31 ms) so fake time
    // crosses 2^31 ms in a few wake-ups: the default wheel wakes once a
    // revolution (10.24 s), some 210,000 fake wake-ups here, which took 4.6
    // minutes of CPU.
    const coarse = new TimerWheel({ now: () => now, tickMs: 2 ** 16, buckets: 2 ** 15 });
    const fired = jest.fn();
    new Deadline(coarse, fired, false).arm(MAX_DELAY_MS + 1000);
    run(MAX_DELAY_MS + 999);
    expect(fired).not.toHaveBeenCalled();
    run(1 + coarse.tickMs);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('clear() leaves nothing pending, even in the poll phase after a stall', () => {
    const d = new Deadline(wheel, () => {}, false);
    d.arm(1000);
    stall(5000);
    expect(jest.getTimerCount()).toBe(1); // the deferred check
    d.clear();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('the heartbeat through stalls', () => {
  it('a stall longer than the interval: ping at once on waking, dead one timeout later if nothing comes', () => {
    // intervalMs 500, timeoutMs 1500, last byte at 0, stopped from 400 to 20 400.
    const m = new HeartbeatMonitor({ intervalMs: 500, timeoutMs: 1500 }, 0);
    expect(m.wakeAt()).toBe(500);
    const r = m.tick(20_400);
    expect(r).toBe('ping');
    let at = 20_400;
    let v = m.tick(m.wakeAt());
    while (v !== 'dead') {
      at = m.wakeAt();
      v = m.tick(at);
    }
    // The peer's silence counts from before the stall (100 ms) plus after it: dead 1.4 s after waking.
    expect(at - 20_400).toBeLessThanOrEqual(1500);
    expect(at - 20_400).toBeGreaterThan(0);
  });

  it('a short stall (under the interval) credits nothing that matters: the next ping is on schedule', () => {
    const m = new HeartbeatMonitor({ intervalMs: 1000, timeoutMs: 3000 }, 0);
    expect(m.tick(1050)).toBe('ping');
    expect(m.stalledMs).toBe(50);
    expect(m.wakeAt()).toBe(2050);
  });

  it('bytes that were waiting behind the stall keep the link alive', () => {
    const m = new HeartbeatMonitor({ intervalMs: 500, timeoutMs: 1500 }, 0);
    m.tick(20_400); // the timers phase after waking: ping
    m.onInbound(20_401); // the poll phase: the peer's bytes that arrived during the stall
    expect(m.tick(21_800)).not.toBe('dead');
  });
});
