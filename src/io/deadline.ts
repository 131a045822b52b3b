/**
 * One named deadline (connect, handshake, frame): an entry on the process's
 * timer wheel (io/timer-wheel.ts) that its owner creates when first needed,
 * arms, re-arms and clears; no Node timer of its own. Stalls of our own process are handled
 * by the rule in core/clock.ts, applied to the lateness the wheel reports: a
 * deadline that fires late yields one poll phase (setImmediate) so the socket
 * reads that waited during the stall are handled first, then fires, unless
 * the owner reported progress in that phase, which restarts the deadline's
 * own length from the wake. So after a wake a deadline fires no later than
 * its own length, and a peer that really is silent is still timed out.
 */
import { stallOf } from '../core/clock';
import { MAX_DELAY_MS, TimerWheel, WheelEntry } from './timer-wheel';

/** The deadline is its own wheel entry (fire() below): one object per deadline, no closure of its own. */
export class Deadline extends WheelEntry {
  private dueAt = Infinity;
  private lengthMs = 0;
  /** Set while the deadline, late after a stall, waits one poll phase for the reads. */
  private deferred: NodeJS.Immediate | undefined = undefined;

  /**
   * @param wheel the timer wheel it runs on (the process's, io/timer-wheel.ts `processWheel()`); its clock is the deadline's.
   * @param unref unref the poll-phase wait after a stall (the wheel's own timer is always unref'd).
   */
  constructor(
    private readonly wheel: TimerWheel,
    private readonly onExpire: () => void,
    private readonly unref: boolean,
  ) {
    super();
  }

  get armed(): boolean {
    return this.dueAt !== Infinity;
  }

  /**
   * Expires `ms` after `now` (one read of the wheel's clock, e.g. per socket
   * read), replacing any earlier due time. O(1), no allocation.
   */
  arm(ms: number, now = this.wheel.now()): void {
    this.lengthMs = ms;
    this.dueAt = now + ms;
    this.cancelDeferred();
    this.wheel.reschedule(this, Math.min(ms, MAX_DELAY_MS), now);
  }

  /** Time left before it expires (Infinity when not armed). */
  leftMs(): number {
    return this.dueAt - this.wheel.now();
  }

  /**
   * The owner reached a stage of what this deadline waits for (the socket
   * connected). Only matters in the poll phase after a stall:
   * the stall ate an unknown share of the budget and the peer has just shown
   * it is there, so the deadline restarts its own length from now.
   */
  progress(): void {
    if (this.deferred) this.arm(this.lengthMs);
  }

  /** Disarms it; nothing of it is left pending. O(1). */
  clear(): void {
    this.dueAt = Infinity;
    this.wheel.cancel(this);
    this.cancelDeferred();
  }

  /** The wheel's call. It never fires an entry early: on time, it expires; late past the stall threshold, the reads go first. */
  override fire(lateMs: number): void {
    if (this.dueAt === Infinity) return;
    const now = this.wheel.now();
    // Longer than the wheel's longest delay: the rest is still to wait.
    if (now < this.dueAt) return this.wheel.reschedule(this, Math.min(this.dueAt - now, MAX_DELAY_MS), now);
    if (stallOf(lateMs) > 0) {
      // Stalled: the reads that waited run in this turn's poll phase; decide after them.
      // The callback is built here, on a stall only, not kept per deadline.
      this.deferred = setImmediate(() => this.afterPollPhase());
      if (this.unref) this.deferred.unref();
      return;
    }
    this.expire();
  }

  private cancelDeferred(): void {
    if (this.deferred) clearImmediate(this.deferred);
    this.deferred = undefined;
  }

  private afterPollPhase(): void {
    this.deferred = undefined;
    if (this.dueAt === Infinity) return;
    if (this.wheel.now() >= this.dueAt) this.expire();
  }

  private expire(): void {
    this.dueAt = Infinity;
    this.onExpire();
  }
}
