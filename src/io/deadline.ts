/**
 * One named deadline with one timer of its own (connect, handshake, frame):
 * armed, cleared and fired by its owner only. Stalls of our own process are
 * handled by the rule in core/clock.ts: a timer that runs late yields one
 * poll phase (setImmediate) so the socket reads that waited during the stall
 * are handled first, then fires, unless the owner reported progress in that
 * phase, which restarts the deadline's own length from the wake. So after a
 * wake a deadline fires no later than its own length, and a peer that really
 * is silent is still timed out.
 */
import { stallMs } from '../core/clock';

export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer is due (it may be earlier than `dueAt`: see arm()). */
  private timerAt = 0;
  private dueAt = Infinity;
  private lengthMs = 0;
  /** Set while the deadline, late after a stall, waits one poll phase for the reads. */
  private deferred: NodeJS.Immediate | undefined;

  constructor(
    private readonly now: () => number,
    private readonly onExpire: () => void,
    private readonly unref: boolean,
  ) {}

  get armed(): boolean {
    return this.dueAt !== Infinity;
  }

  /**
   * Expires `ms` from now, replacing any earlier due time. A pending timer due
   * sooner is kept and re-checks on firing, so re-arming per chunk costs a
   * clock read, not a timer.
   */
  arm(ms: number): void {
    this.lengthMs = ms;
    this.dueAt = this.now() + ms;
    this.cancelDeferred();
    if (this.timer && this.timerAt <= this.dueAt) return;
    this.clearTimer();
    this.setTimer(ms);
  }

  /** Time left before it expires (Infinity when not armed). */
  leftMs(): number {
    return this.dueAt - this.now();
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

  /**
   * Disarms it on a hot path: a pending timer is kept and does nothing when it
   * fires, so a frame completing per chunk costs no clearTimeout. Use clear()
   * at teardown.
   */
  disarm(): void {
    this.dueAt = Infinity;
    this.cancelDeferred();
  }

  /** Disarms it; nothing of it is left pending. */
  clear(): void {
    this.dueAt = Infinity;
    this.clearTimer();
    this.cancelDeferred();
  }

  private setTimer(ms: number): void {
    this.timerAt = this.now() + ms;
    this.timer = setTimeout(this.onTimer, Math.max(0, ms));
    if (this.unref) this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private cancelDeferred(): void {
    if (this.deferred) clearImmediate(this.deferred);
    this.deferred = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.dueAt === Infinity) return;
    const now = this.now();
    if (stallMs(this.timerAt, now) > 0) {
      // Stalled: the reads that waited run in this turn's poll phase; decide after them.
      this.deferred = setImmediate(this.onDeferred);
      if (this.unref) this.deferred.unref();
      return;
    }
    if (now < this.dueAt) return this.setTimer(this.dueAt - now);
    this.expire();
  };

  private readonly onDeferred = (): void => {
    this.deferred = undefined;
    if (this.dueAt === Infinity) return;
    if (this.now() < this.dueAt) return this.setTimer(this.dueAt - this.now());
    this.expire();
  };

  private expire(): void {
    if (this.dueAt === Infinity) return;
    this.dueAt = Infinity;
    this.onExpire();
  }
}
