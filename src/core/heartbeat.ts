/**
 * Heartbeat scheduling and liveness verdicts, with the clock passed in.
 *
 * The monitor answers three questions for its owner (the client's link):
 * when to wake next, whether to send a ping on waking, and whether the link is
 * dead. Any inbound frame counts as proof of life (a busy link needs no pong to
 * stay alive), and a ping falls due only when frames did not go both ways
 * since the last one was due: traffic in both directions already keeps both
 * ends' timers fresh (as Netty's IdleStateHandler fires only on idleness). Which pong answers which ping, and the round-trip time, are the
 * ping ledger's (core/pong.ts), one for both kinds of link. No socket, no
 * timer. A late wake-up is a stall of our own process, credited by the rule in
 * core/clock.ts.
 */
import { StalledTime } from './clock';

export interface HeartbeatOptions {
  /** Time between pings, in ms. */
  intervalMs: number;
  /** Silence (no inbound frame at all) after which the link is declared dead, in ms. Must exceed intervalMs. */
  timeoutMs: number;
}

export const HEARTBEAT_DEFAULTS: Readonly<HeartbeatOptions> = Object.freeze({
  intervalMs: 5_000,
  // Three intervals: two pings may be lost or delayed by retransmission
  // (Linux's minimum RTO is 200 ms, doubling per retry) before a false verdict.
  timeoutMs: 15_000,
});

export type TickResult =
  | { readonly kind: 'dead'; readonly silentMs: number }
  | { readonly kind: 'ping' | 'wait'; readonly wakeAt: number };

export class HeartbeatMonitor {
  private lastInboundAt: number;
  private nextPingAt: number;
  /** The wake-up time last handed out, to measure how late the timer fired. */
  private expectedWake: number;
  private readonly stalls = new StalledTime();
  /** Since the last ping fell due: a frame came in / went out. */
  private heard = false;
  private wrote = false;

  constructor(
    private readonly opts: HeartbeatOptions,
    now: number,
  ) {
    this.lastInboundAt = now;
    this.nextPingAt = now + opts.intervalMs;
    this.expectedWake = this.wakeAt();
  }

  /** Any inbound frame arrived: the peer is alive. O(1), no allocation. */
  onInbound(now: number): void {
    this.heard = true;
    if (now > this.lastInboundAt) this.lastInboundAt = now;
  }

  /** A frame went out. O(1), no clock read. */
  onOutbound(): void {
    this.wrote = true;
  }

  /** When the owner's timer should fire next. */
  wakeAt(): number {
    this.expectedWake = Math.min(this.nextPingAt, this.lastInboundAt + this.opts.timeoutMs);
    return this.expectedWake;
  }

  /**
   * Called when the timer fires (early or late). Decides dead / ping / wait;
   * 'ping' means a ping is due now (the owner writes it and records it in its
   * ping ledger). `lateMs`: how late the timer ran, as the timer wheel
   * reports it; by default measured from the last wakeAt().
   */
  tick(now: number, lateMs = now - this.expectedWake): TickResult {
    const stalled = this.stalls.credit(lateMs);
    // We were not listening during the stall: do not blame the peer for it.
    if (stalled > 0) this.lastInboundAt = Math.min(now, this.lastInboundAt + stalled);
    const silentMs = now - this.lastInboundAt;
    if (silentMs >= this.opts.timeoutMs) return { kind: 'dead', silentMs };
    if (now >= this.nextPingAt) {
      // On time (the timer wheel wakes up to one tick late): the next ping keeps
      // the schedule, so the lateness does not add up into a longer interval.
      // After a stall the schedule restarts from the wake-up.
      this.nextPingAt = stalled > 0 ? now + this.opts.intervalMs : Math.max(this.nextPingAt + this.opts.intervalMs, now);
      // Frames went both ways within the interval: no ping needed. After a stall, one goes out anyway.
      const busy = this.heard && this.wrote && stalled === 0;
      this.heard = this.wrote = false;
      return { kind: busy ? 'wait' : 'ping', wakeAt: this.wakeAt() };
    }
    return { kind: 'wait', wakeAt: this.wakeAt() };
  }

  /** Total time credited for our own stalls, in ms. */
  get stalledMs(): number {
    return this.stalls.total;
  }
}
