/**
 * One hashed timer wheel per process (after Netty's HashedWheelTimer): the
 * deadlines of every connection sit in a fixed number of buckets, and ONE
 * unref'd Node timer, running only while something is scheduled, wakes the
 * wheel at the next tick that holds an entry. Entries are intrusive list nodes
 * the caller owns and reuses: re-arming one per received frame is a few field
 * writes and no allocation. Entries due in one tick fire in one burst, so
 * pings due together leave together. An entry never fires before its
 * deadline, and under a live loop at most one tick after it (tick k is the
 * span (origin + (k-1)·tickMs, origin + k·tickMs], processed once it ends).
 *
 * Stalls: the wheel has no policy. When its timer runs late (the process was
 * stopped or starved), one wake-up fires EVERY overdue entry, in deadline
 * order to the tick (exactly, after a stall over one revolution). Each
 * callback gets `lateMs`, how long after the end of its tick the burst began:
 * 0 under a live loop give or take timer jitter, about the stall after one.
 * The tick's rounding is not in it, so it compares to STALL_THRESHOLD_MS and
 * the caller applies the project's one stall rule (src/core/clock.ts): the
 * heartbeat (io/link.ts) credits it as stalled time; a one-shot deadline
 * (io/deadline.ts) over the threshold yields a poll phase so pending reads go
 * first.
 */

/** The Node timer the wheel runs on (injectable for fake time): `set` calls `fn` once after `ms`, without holding the process open. */
export interface WheelScheduler {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** setTimeout, unref'd: pending deadlines do not hold the process open. */
export const nodeScheduler: WheelScheduler = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Default tick, in ms. The SDK's deadlines are 100s of ms or more (the
 * heartbeat defaults to a 5 s interval, src/core/heartbeat.ts): 20 ms of rounding is
 * 0.4 % of it, and STALL_THRESHOLD_MS, the lateness already taken as jitter.
 * A shorter tick means more wake-ups and smaller bursts; Netty's default is 100 ms.
 */
export const DEFAULT_TICK_MS = 20;
/** Default bucket count (a power of two, as Netty's 512): one revolution is 512 × 20 ms = 10.24 s, longer than the default heartbeat interval. */
export const DEFAULT_BUCKETS = 512;

/** The longest delay schedule() accepts, in ms (as setTimeout's, 2^31 - 1, about 24.8 days); a longer deadline re-arms when this one fires. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

const IDLE = -1; // an entry's slot when not armed (else its bucket, or:)
const FIRING = -2; // taken into the burst being fired, not run yet

/**
 * A deadline, one per purpose (a connection's heartbeat, its connect deadline), re-armed for its owner's lifetime. Fields other than `deadline` are the wheel's.
 * What runs when it is due is `fire()`: the callback given to the constructor, or a subclass's own
 * method (io/deadline.ts, the heartbeat in io/link.ts), so a long-lived entry needs no closure of its own.
 */
export class WheelEntry {
  /** When it is due, on the wheel's clock (ms); meaningful while scheduled. */
  deadline = 0;
  /** @internal The absolute tick it fires at; (tick - current tick) / buckets is its remaining rounds. */
  tick = 0;
  /** @internal Its bucket, or IDLE, or FIRING. */
  slot = IDLE;
  /** @internal Neighbours in its bucket, and the wheel it was last armed on. */
  prev: WheelEntry | undefined = undefined;
  next: WheelEntry | undefined = undefined;
  owner: TimerWheel | undefined = undefined;

  /**
   * @param onFire what fire() runs, made this entry's own fire(); a subclass
   * that overrides fire() passes none, and its entries carry no field for it
   * (8 B per entry, one per idle connection: bench/heap-per-client.ts).
   */
  constructor(onFire?: (lateMs: number) => void) {
    if (onFire) this.fire = onFire;
  }

  /** Runs when due (`lateMs`: see the module comment); it may schedule, cancel or reschedule any entry. The base entry does nothing. */
  fire(_lateMs: number): void {}
}

/**
 * The wheel's default clock: performance.now() in whole ms. Every time kept
 * per connection (deadlines, the heartbeat's, a ping's send time) comes from
 * it or from it plus whole ms, so those fields hold small integers (Smis),
 * which V8 stores in the object; a fractional ms value makes each such field
 * a boxed heap number (16 B more per field, 10 per idle client before this
 * clock, bench/heap-per-client.ts). A whole ms is finer than the wheel's tick.
 * Past 2^31 ms (24.8 days) of process uptime the values leave the Smi range:
 * still correct, boxed again.
 */
export function wholeMs(): number {
  return Math.floor(performance.now());
}

/** Options of a TimerWheel; a process uses one wheel with the defaults (processWheel()). */
export interface TimerWheelOptions {
  /** Tick length, in ms. @default 20 */
  tickMs?: number;
  /** Number of buckets, a power of two. @default 512 */
  buckets?: number;
  /** Monotonic clock, in ms. @default wholeMs (performance.now() in whole ms) */
  now?: () => number;
  /** The Node timer. @default nodeScheduler */
  scheduler?: WheelScheduler;
}

/** A hashed timer wheel: schedule(), reschedule() and cancel() are O(1); see the module comment. */
export class TimerWheel {
  readonly tickMs: number;
  readonly now: () => number;
  private readonly scheduler: WheelScheduler;
  /** Each bucket is a doubly linked list of its entries, oldest armed first. */
  private readonly heads: Array<WheelEntry | undefined>;
  private readonly tails: Array<WheelEntry | undefined>;
  private readonly mask: number;
  private readonly origin: number;
  /** The last tick whose entries have been taken out. */
  private done = 0;
  private count = 0;
  private timer: unknown = undefined;
  private wakeTick = 0; // the tick the pending Node timer is set for
  private firing = false;
  /** The burst being fired, reused across bursts; `dueCount` slots are in use. */
  private readonly due: Array<WheelEntry | undefined> = [];
  private dueCount = 0;

  constructor(options: TimerWheelOptions = {}) {
    const { tickMs = DEFAULT_TICK_MS, buckets = DEFAULT_BUCKETS } = options;
    if (!(Number.isFinite(tickMs) && tickMs > 0)) throw new TypeError(`tickMs must be a positive number of ms, got ${tickMs}`);
    const pow2 = Number.isInteger(buckets) && buckets > 0 && buckets <= 2 ** 20 && (buckets & (buckets - 1)) === 0;
    if (!pow2) throw new TypeError(`buckets must be a power of two up to 2^20, got ${buckets}`);
    this.tickMs = tickMs;
    this.now = options.now ?? wholeMs;
    this.scheduler = options.scheduler ?? nodeScheduler;
    this.heads = new Array<WheelEntry | undefined>(buckets).fill(undefined);
    this.tails = new Array<WheelEntry | undefined>(buckets).fill(undefined);
    this.mask = buckets - 1;
    this.origin = this.now();
  }

  /** Whether `entry` will fire (it is in a bucket, or in the burst being fired). */
  isScheduled(entry: WheelEntry): boolean {
    return entry.owner === this && entry.slot !== IDLE;
  }

  /** Arms an idle entry to fire `delayMs` after `now`. O(1). Throws if it is already scheduled: use reschedule(). */
  schedule(entry: WheelEntry, delayMs: number, now = this.now()): void {
    if (entry.slot !== IDLE) throw new Error('WheelEntry is already scheduled: use reschedule()');
    this.insert(entry, delayMs, now);
  }

  /** Arms `entry` to fire `delayMs` after `now` (a read of `this.now()` this turn, e.g. one per socket read), replacing any pending deadline. O(1), no allocation. */
  reschedule(entry: WheelEntry, delayMs: number, now = this.now()): void {
    if (entry.slot !== IDLE && entry.owner !== this) throw new Error('WheelEntry belongs to another wheel');
    this.insert(entry, delayMs, now);
  }

  /** Disarms `entry` (also from the burst being fired); returns whether it was scheduled. O(1). */
  cancel(entry: WheelEntry): boolean {
    if (entry.owner !== this || entry.slot === IDLE) return false;
    if (entry.slot >= 0) {
      this.unlink(entry);
      if (--this.count === 0 && this.timer !== undefined) {
        this.scheduler.clear(this.timer); // nothing left: the wheel stops
        this.timer = undefined;
      }
    }
    entry.slot = IDLE;
    return true;
  }

  private insert(entry: WheelEntry, delayMs: number, now: number): void {
    if (!(delayMs >= 0 && delayMs <= MAX_DELAY_MS)) throw new TypeError(`delayMs must be a number of ms in [0, 2^31 - 1], got ${delayMs}`);
    // Idle (nothing scheduled, no timer): catch up, rather than walk the empty buckets later.
    if (this.timer === undefined && !this.firing) this.done = Math.max(this.done, Math.floor((now - this.origin) / this.tickMs));
    const deadline = now + delayMs;
    const tick = Math.max(Math.ceil((deadline - this.origin) / this.tickMs), this.done + 1);
    entry.deadline = deadline;
    if (entry.slot >= 0) {
      if (entry.tick === tick) return; // re-armed within its tick: it keeps its place
      this.unlink(entry);
      this.count--;
    }
    const slot = tick & this.mask;
    const tail = this.tails[slot];
    entry.tick = tick;
    entry.slot = slot;
    entry.owner = this;
    entry.prev = tail;
    entry.next = undefined;
    if (tail) tail.next = entry;
    else this.heads[slot] = entry;
    this.tails[slot] = entry;
    this.count++;
    this.wakeBy(tick);
  }

  private unlink(entry: WheelEntry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.heads[entry.slot] = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tails[entry.slot] = entry.prev;
    entry.prev = entry.next = undefined;
  }

  /** Makes the Node timer run no later than `tick`; during a burst the wheel re-arms at its end. */
  private wakeBy(tick: number): void {
    if (this.firing) return;
    if (this.timer !== undefined) {
      if (this.wakeTick <= tick) return;
      this.scheduler.clear(this.timer);
    }
    this.wakeTick = tick;
    const ms = Math.ceil(this.origin + tick * this.tickMs - this.now());
    this.timer = this.scheduler.set(this.onTimer, Math.max(0, ms));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = this.now();
    const target = Math.floor((now - this.origin) / this.tickMs);
    if (target > this.done) this.collect(target);
    this.firing = true;
    let thrown: { error: unknown } | undefined;
    for (let i = 0; i < this.dueCount; i++) {
      const e = this.due[i] as WheelEntry;
      this.due[i] = undefined;
      if (e.slot !== FIRING) continue; // cancelled or rescheduled earlier in this burst
      e.slot = IDLE;
      try {
        e.fire(Math.max(0, now - (this.origin + e.tick * this.tickMs)));
      } catch (error) {
        thrown ??= { error };
      }
    }
    this.dueCount = 0;
    this.firing = false;
    if (this.count > 0) this.wakeBy(this.nextTick());
    // As a throwing setTimeout callback would: the rest of the burst has run, the wheel is re-armed.
    if (thrown) throw thrown.error;
  };

  /** Takes every entry due by `target` out of its bucket into `due`, in tick order. */
  private collect(target: number): void {
    const wholeTurn = target - this.done > this.mask;
    const last = wholeTurn ? this.done + this.mask + 1 : target;
    for (let t = this.done + 1; t <= last; t++) {
      let e = this.heads[t & this.mask];
      while (e) {
        const next = e.next;
        if (e.tick <= target) {
          this.unlink(e);
          this.count--;
          e.slot = FIRING;
          this.due[this.dueCount++] = e;
        }
        e = next;
      }
    }
    this.done = target;
    if (!wholeTurn) return;
    // A stall longer than one revolution: buckets no longer map to ticks in order.
    this.due.length = this.dueCount;
    this.due.sort((a, b) => (a as WheelEntry).deadline - (b as WheelEntry).deadline);
  }

  /** The first tick after `done` whose bucket is not empty (its entries may be rounds away: that wake-up finds nothing and looks again). */
  private nextTick(): number {
    for (let t = this.done + 1; ; t++) if (this.heads[t & this.mask]) return t;
  }
}

let shared: TimerWheel | undefined;

/** The process's wheel (created on first use, with the defaults); every connection's deadlines go on it. */
export function processWheel(): TimerWheel {
  return (shared ??= new TimerWheel());
}
