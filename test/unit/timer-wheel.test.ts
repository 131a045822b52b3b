import { createHook } from 'node:async_hooks';
import fc from 'fast-check';
import { TimerWheel, WheelEntry, type WheelScheduler } from '../../src/io/timer-wheel';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';
import { seeded } from '../support/seeded';

const TICK = 20;
const BUCKETS = 16;
const TURN = TICK * BUCKETS; // one revolution, 320 ms: small, so rounds are exercised

interface FakeTimer {
  fn: () => void;
  at: number;
}

/** A fake clock and a fake Node timer: time moves only through advance() (a live loop) and stall() (a loop that wakes late). */
class FakeTime implements WheelScheduler {
  now = 1000;
  /** Timers created so far. */
  sets = 0;
  /** Times the wheel's timer ran. */
  wakes = 0;
  private readonly timers: FakeTimer[] = [];

  /** `earlyMs`: each timer runs up to that much before it is due (Node's loop clock is cached and rounded to 1 ms), but at least 1 ms after it was set. */
  constructor(private readonly earlyMs = 0) {}

  set(fn: () => void, ms: number): FakeTimer {
    const t = { fn, at: this.earlyMs ? Math.max(this.now + 1, this.now + ms - this.earlyMs) : this.now + ms };
    this.timers.push(t);
    this.sets++;
    return t;
  }

  clear(handle: unknown): void {
    const i = this.timers.indexOf(handle as FakeTimer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** A live loop for `ms`: every timer runs at its own due time, in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const t = this.timers.reduce<FakeTimer | undefined>((a, b) => (b.at <= end && (!a || b.at < a.at) ? b : a), undefined);
      if (!t) break;
      this.clear(t);
      this.now = Math.max(this.now, t.at);
      this.wakes++;
      t.fn();
    }
    this.now = end;
  }

  /** The process stops for `ms` (the clock jumps), then the loop runs what is overdue. */
  stall(ms: number): void {
    this.now += ms;
    this.advance(0);
  }
}

interface Fire {
  name: string;
  at: number;
  lateMs: number;
  deadline: number;
}

function setup(earlyMs = 0): { time: FakeTime; wheel: TimerWheel; fires: Fire[]; entry(name: string, then?: () => void): WheelEntry } {
  const time = new FakeTime(earlyMs);
  const wheel = new TimerWheel({ tickMs: TICK, buckets: BUCKETS, now: () => time.now, scheduler: time });
  const fires: Fire[] = [];
  const entry = (name: string, then?: () => void): WheelEntry => {
    const e: WheelEntry = new WheelEntry((lateMs) => {
      fires.push({ name, at: time.now, lateMs, deadline: e.deadline });
      then?.();
    });
    return e;
  };
  return { time, wheel, fires, entry };
}

describe('TimerWheel', () => {
  it('fires each entry at the end of the tick holding its deadline: never early, at most one tick late', () => {
    const { time, wheel, fires, entry } = setup();
    const delays = [0, 1, 19, 20, 21, 39, 40, 100, 319, 320, 321, 999, 1000];
    delays.forEach((d) => wheel.schedule(entry(`d${d}`), d));
    time.advance(1100);
    expect(fires.map((f) => f.name)).toEqual(delays.map((d) => `d${d}`));
    for (const f of fires) {
      expect(f.at).toBeGreaterThanOrEqual(f.deadline);
      expect(f.at - f.deadline).toBeLessThanOrEqual(TICK);
      expect(f.lateMs).toBe(0);
    }
    // Tick k ends at origin + k * TICK (origin 1000): 21 ms is in the second tick, 20 ms ends the first.
    expect(fires.find((f) => f.name === 'd20')?.at).toBe(1020);
    expect(fires.find((f) => f.name === 'd21')?.at).toBe(1040);
  });

  it('takes a clock read from the caller, so one read can serve many re-arms', () => {
    const { time, wheel, fires, entry } = setup();
    time.advance(15);
    wheel.schedule(entry('read earlier'), 10, time.now - 15); // due at 1010: the tick ending at 1020
    wheel.schedule(entry('read now'), 10); // due at 1025: the tick ending at 1040
    time.advance(40);
    expect(fires.map((f) => `${f.name}@${f.at}`)).toEqual(['read earlier@1020', 'read now@1040']);
  });

  it('entries due in one tick fire in one burst, in the order they were armed', () => {
    const { time, wheel, fires, entry } = setup();
    const names: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const d = 41 + ((i * 7) % 19); // all in (40, 60]
      names.push(`e${i}`);
      wheel.schedule(entry(`e${i}`), d);
    }
    expect(time.sets).toBe(1); // one Node timer for all of them
    time.advance(100);
    expect(time.wakes).toBe(1);
    expect(fires.map((f) => f.name)).toEqual(names);
    expect(new Set(fires.map((f) => f.at))).toEqual(new Set([1060]));
  });

  it('a delay of several revolutions fires only after its rounds, not on the passes before', () => {
    const { time, wheel, fires, entry } = setup();
    wheel.schedule(entry('long'), 3 * TURN + 150);
    wheel.schedule(entry('short'), 10); // after it fires, the wheel wakes at the long entry's bucket once per revolution
    time.advance(3 * TURN + 150 - 1);
    expect(fires.map((f) => f.name)).toEqual(['short']);
    expect(time.wakes).toBe(4); // short, then the bucket on revolutions 0, 1 and 2: nothing due
    fires.length = 0;
    time.advance(TICK);
    expect(fires.map((f) => [f.name, f.at])).toEqual([['long', 1000 + 3 * TURN + 160]]);
  });

  it('callbacks may cancel, reschedule and schedule entries, their own included, during a burst', () => {
    const { time, wheel, fires, entry } = setup();
    const b = entry('b');
    const c = entry('c');
    const d = entry('d');
    const e = entry('e');
    let once = true;
    const a: WheelEntry = entry('a', () => {
      if (!once) return;
      once = false;
      expect(wheel.cancel(b)).toBe(true); // already taken into this burst
      wheel.reschedule(c, 100); // likewise: moved out of it
      wheel.reschedule(a, 0); // itself: next tick, not this burst
      wheel.schedule(e, 0);
      expect(wheel.cancel(b)).toBe(false);
    });
    for (const x of [a, b, c, d]) wheel.schedule(x, 10);
    time.advance(TICK);
    expect(fires.map((f) => f.name)).toEqual(['a', 'd']);
    time.advance(TICK);
    expect(fires.map((f) => f.name)).toEqual(['a', 'd', 'a', 'e']);
    time.advance(200);
    expect(fires.map((f) => `${f.name}@${f.at}`)).toEqual(['a@1020', 'd@1020', 'a@1040', 'e@1040', 'c@1120']);
    expect(time.pending).toBe(0);
  });

  it('a throwing callback does not stop the burst; its error surfaces after it, with the wheel re-armed', () => {
    const { time, wheel, fires, entry } = setup();
    wheel.schedule(
      new WheelEntry(() => {
        throw new Error('boom');
      }),
      5,
    );
    wheel.schedule(entry('after'), 5);
    wheel.schedule(entry('later'), 50);
    expect(() => time.advance(TICK)).toThrow('boom');
    expect(fires.map((f) => f.name)).toEqual(['after']);
    expect(time.pending).toBe(1);
  });

  it('runs one Node timer only while something is scheduled: stops when the wheel empties, restarts on the next schedule', () => {
    const { time, wheel, entry } = setup();
    const a = entry('a');
    const b = entry('b');
    expect(time.pending).toBe(0);
    wheel.schedule(a, 500);
    wheel.schedule(b, 50); // earlier: the one timer is moved, not doubled
    expect(time.pending).toBe(1);
    for (let i = 0; i < 100; i++) wheel.reschedule(a, 500 + i);
    expect(time.pending).toBe(1);
    wheel.cancel(a);
    expect(time.pending).toBe(1);
    wheel.cancel(b);
    expect(time.pending).toBe(0);
    wheel.schedule(a, 30);
    expect(time.pending).toBe(1);
    time.advance(100);
    expect(wheel.isScheduled(a)).toBe(false);
    expect(time.pending).toBe(0); // fired and empty: not re-armed
    wheel.schedule(b, 30);
    expect(time.pending).toBe(1);
  });

  it('a stall of 100 revolutions fires every overdue entry once, in one wake-up, in deadline order, with its lateness', () => {
    const { time, wheel, fires, entry } = setup();
    const rnd = seeded(12);
    const deadlines = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const d = Math.floor(rnd() * 50 * TURN);
      wheel.schedule(entry(`e${i}`), d);
      deadlines.set(`e${i}`, 1000 + d);
    }
    wheel.schedule(entry('after'), 150 * TURN);
    time.stall(100 * TURN);
    expect(time.wakes).toBe(1);
    expect(fires).toHaveLength(500);
    expect(new Set(fires.map((f) => f.name)).size).toBe(500);
    const sorted = [...fires].sort((x, y) => x.deadline - y.deadline);
    expect(fires.map((f) => f.name)).toEqual(sorted.map((f) => f.name));
    for (const f of fires) {
      expect(f.deadline).toBe(deadlines.get(f.name));
      // Late by the stall, less the tick's rounding.
      expect(f.lateMs).toBeLessThanOrEqual(time.now - f.deadline);
      expect(f.lateMs).toBeGreaterThan(time.now - f.deadline - TICK);
    }
    time.advance(50 * TURN);
    expect(fires.at(-1)?.name).toBe('after');
    expect(time.pending).toBe(0);
  });

  it('a stall shorter than one revolution fires every overdue entry in one wake-up, in tick order', () => {
    const { time, wheel, fires, entry } = setup();
    for (const d of [90, 10, 50, 30, 70]) wheel.schedule(entry(`d${d}`), d);
    time.stall(200);
    expect(time.wakes).toBe(1);
    expect(fires.map((f) => [f.name, f.lateMs])).toEqual([
      ['d10', 180],
      ['d30', 160],
      ['d50', 140],
      ['d70', 120],
      ['d90', 100],
    ]);
  });

  it('a Node timer that runs early (cached, rounded loop clock) fires nothing early', () => {
    const { time, wheel, fires, entry } = setup(3);
    for (const d of [5, 20, 35, 400]) wheel.schedule(entry(`d${d}`), d);
    time.advance(500);
    expect(fires.map((f) => f.name)).toEqual(['d5', 'd20', 'd35', 'd400']);
    for (const f of fires) expect(f.at).toBeGreaterThanOrEqual(f.deadline);
  });

  it('rejects bad options and delays with a TypeError naming them, and double scheduling', () => {
    expect(() => new TimerWheel({ tickMs: 0 })).toThrow(new TypeError('tickMs must be a positive number of ms, got 0'));
    expect(() => new TimerWheel({ tickMs: NaN })).toThrow(TypeError);
    expect(() => new TimerWheel({ buckets: 12 })).toThrow(/buckets/);
    const { wheel, entry } = setup();
    const a = entry('a');
    for (const bad of [-1, NaN, Infinity, 2 ** 31]) expect(() => wheel.schedule(a, bad)).toThrow(/delayMs/);
    wheel.schedule(a, 10);
    expect(() => wheel.schedule(a, 10)).toThrow(/already scheduled/);
    const other = setup().wheel;
    expect(() => other.reschedule(a, 10)).toThrow(/another wheel/);
    expect(other.cancel(a)).toBe(false);
  });

  it('property: any schedule/cancel/reschedule/advance sequence fires every live entry exactly once, never early, at most one tick late', () => {
    const N = 6;
    const delay = fc.integer({ min: 0, max: 3 * TURN });
    const idx = fc.integer({ min: 0, max: N - 1 });
    const op = fc.oneof(
      fc.record({ k: fc.constant('schedule' as const), i: idx, d: delay }),
      fc.record({ k: fc.constant('reschedule' as const), i: idx, d: delay }),
      fc.record({ k: fc.constant('cancel' as const), i: idx }),
      fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: TICK }) }),
    );
    // What an entry's callback does the first time it runs.
    const reaction = fc.oneof(
      fc.constant(undefined),
      fc.record({ k: fc.constant('cancel' as const), i: idx }),
      fc.record({ k: fc.constant('reschedule' as const), i: idx, d: delay }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(reaction, { minLength: N, maxLength: N }), (ops, reactions) => {
        const time = new FakeTime();
        const wheel = new TimerWheel({ tickMs: TICK, buckets: BUCKETS, now: () => time.now, scheduler: time });
        const due: Array<number | undefined> = new Array(N).fill(undefined); // the model: each entry's deadline
        const arm = (i: number, d: number): void => {
          wheel.reschedule(entries[i] as WheelEntry, d);
          due[i] = time.now + d;
        };
        const entries = Array.from({ length: N }, (_, i) => {
          let reacted = false;
          return new WheelEntry((lateMs) => {
            const deadline = due[i];
            expect(deadline).toBeDefined(); // not cancelled, not fired already
            expect(entries[i]?.deadline).toBe(deadline);
            expect(time.now).toBeGreaterThanOrEqual(deadline as number);
            expect(time.now - (deadline as number)).toBeLessThanOrEqual(TICK);
            expect(lateMs).toBe(0);
            due[i] = undefined;
            const r = reactions[i];
            if (reacted || !r) return;
            reacted = true;
            if (r.k === 'cancel') {
              expect(wheel.cancel(entries[r.i] as WheelEntry)).toBe(due[r.i] !== undefined);
              due[r.i] = undefined;
            } else arm(r.i, r.d);
          });
        });
        for (const o of ops) {
          if (o.k === 'advance') time.advance(o.ms);
          else if (o.k === 'cancel') {
            expect(wheel.cancel(entries[o.i] as WheelEntry)).toBe(due[o.i] !== undefined);
            due[o.i] = undefined;
          } else if (o.k === 'schedule' && due[o.i] !== undefined) {
            expect(() => wheel.schedule(entries[o.i] as WheelEntry, o.d)).toThrow();
          } else arm(o.i, o.d);
          expect(time.pending).toBe(due.some((d) => d !== undefined) ? 1 : 0);
        }
        // Each entry reacts once, so a chain of re-arms is at most N long.
        for (let t = 0; t < ((N + 2) * 3 * TURN) / TICK; t++) time.advance(TICK);
        expect(due.every((d) => d === undefined)).toBe(true);
        expect(entries.every((e) => !wheel.isScheduled(e))).toBe(true);
        expect(time.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('TimerWheel on the real clock and setTimeout', () => {
  it("runs one unref'd Node timer while entries are scheduled and none once the wheel empties", async () => {
    const before = resourceSnapshot();
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const refTimeouts = timeouts();
    const created: Array<{ hasRef(): boolean }> = [];
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        if (type === 'Timeout') created.push(resource as { hasRef(): boolean });
      },
    });
    const wheel = new TimerWheel();
    let fire!: () => void;
    const fired = new Promise<void>((r) => (fire = r));
    const count = { n: 0 };
    const entries = [30, 35, 40].map((d) => {
      const e = new WheelEntry(() => ++count.n === 3 && fire());
      return [e, d] as const;
    });
    hook.enable();
    for (const [e, d] of entries) wheel.schedule(e, d);
    hook.disable();
    expect(created).toHaveLength(1); // one Node timer for three entries
    expect(created[0]?.hasRef()).toBe(false);
    expect(timeouts()).toBe(refTimeouts); // unref'd: not a resource holding the loop open
    await fired;
    expect(entries.every(([e]) => !wheel.isScheduled(e))).toBe(true);
    await expectResourcesBackTo(before); // also: no timer created by src/ is still pending
  });

  it('cancelling the last entry clears the Node timer at once', async () => {
    const before = resourceSnapshot();
    const wheel = new TimerWheel();
    const e = new WheelEntry(() => {
      throw new Error('must not fire');
    });
    wheel.schedule(e, 10_000);
    expect(wheel.cancel(e)).toBe(true);
    await expectResourcesBackTo(before);
  });
});
