/**
 * Heartbeat scheduling and liveness verdicts, with the clock passed in.
 *
 * The monitor answers three questions for its owner (the client's link):
 * when to wake next, whether to send a ping on waking, and whether the link is
 * dead. Any inbound frame counts as proof of life (a busy link needs no pong to
 * stay alive), and a ping falls due only when frames did not go both ways
 * since the last one was due: traffic in both directions already keeps both
 * ends' timers fresh (as Netty's IdleStateHandler fires only on idleness). Which pong answers which ping, and the round-trip time, are the
 * ping ledger's (core/pong.ts), one for both kinds of link. The monitor IS
 * the client's ping ledger (it extends PingLedger): one object per client,
 * kept across connections and restarted by each link that opens, not a
 * monitor per link beside a ledger per client (a second object's header and
 * the link's field to it, 32 B per idle client, bench/heap-per-client.ts). No
 * socket, no timer. A late wake-up is a stall of our own process, credited by the rule in
 * core/clock.ts.
 *
 * Every time the monitor keeps is an integer number of ms (the intervals are
 * rounded, the clock passed in is the timer wheel's integer one,
 * io/timer-wheel.ts), so its fields stay small integers that V8 stores in
 * place: a fractional value would box each field as a heap number (16 B
 * each, bench/heap-per-client.ts) for every monitor of the process.
 */
import { stallOf } from './clock';
import { MAX_OUTSTANDING_PINGS, PingLedger } from './pong';

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

/** HeartbeatMonitor.traffic's bits. */
const HEARD = 1;
const WROTE = 2;

/** What a wake-up decided: the link is dead, a ping is due now, or nothing (wake again at wakeAt()). */
export type TickKind = 'dead' | 'ping' | 'wait';

export class HeartbeatMonitor extends PingLedger {
  /** Time between pings and the silence that is death, in whole ms (timeoutMs 0: never dead). */
  private intervalMs = 0;
  private timeoutMs = 0;
  private lastInboundAt = 0;
  private nextPingAt = 0;
  /** The wake-up time last handed out, to measure how late the timer fired. */
  private expectedWake = 0;
  /** Time credited for our own stalls (the rule in core/clock.ts) since the last restart, in ms. */
  private stalled = 0;
  /** Since the last ping fell due: a frame came in (HEARD) / went out (WROTE); one field, not two. */
  private traffic = 0;

  /**
   * @param opts the schedule, as restart() takes it (HEARTBEAT_DEFAULTS when absent: a client's monitor is restarted by each link that opens)
   * @param maxPings, firstSeq the ping ledger's (core/pong.ts)
   */
  constructor(opts: HeartbeatOptions = HEARTBEAT_DEFAULTS, now = 0, maxPings = MAX_OUTSTANDING_PINGS, firstSeq = 0) {
    super(maxPings, firstSeq);
    this.restart(opts, now);
  }

  /**
   * Starts the schedule afresh at `now` for a link that just opened (the ping
   * ledger is left alone: seqs keep rising across connections).
   * @param opts read once: the monitor keeps the two numbers, rounded, not the object. `timeoutMs` Infinity: never dead.
   */
  restart(opts: HeartbeatOptions, now: number): void {
    this.intervalMs = Math.max(1, Math.round(opts.intervalMs));
    this.timeoutMs = opts.timeoutMs === Infinity ? 0 : Math.max(1, Math.round(opts.timeoutMs));
    this.lastInboundAt = now;
    this.nextPingAt = now + this.intervalMs;
    this.stalled = 0;
    this.traffic = 0;
    this.wakeAt();
  }

  /** Any inbound frame arrived: the peer is alive. O(1), no allocation. */
  onInbound(now: number): void {
    this.traffic |= HEARD;
    if (now > this.lastInboundAt) this.lastInboundAt = now;
  }

  /** A frame went out. O(1), no clock read. */
  onOutbound(): void {
    this.traffic |= WROTE;
  }

  /** When the owner's timer should fire next. */
  wakeAt(): number {
    this.expectedWake = this.timeoutMs === 0 ? this.nextPingAt : Math.min(this.nextPingAt, this.lastInboundAt + this.timeoutMs);
    return this.expectedWake;
  }

  /** The inbound silence at `now`, stalls credited: after a 'dead' tick at `now`, the silence that was judged. */
  silentMs(now: number): number {
    return now - this.lastInboundAt;
  }

  /**
   * Called when the timer fires (early or late). Decides dead / ping / wait
   * (a constant: nothing is allocated per wake-up; the next wake-up is
   * wakeAt()). 'ping' means a ping is due now (the owner writes it and
   * records it in its ping ledger). `lateMs`: how late the timer ran, as the
   * timer wheel reports it; by default measured from the last wakeAt().
   */
  tick(now: number, lateMs = now - this.expectedWake): TickKind {
    const stalled = stallOf(lateMs);
    this.stalled += stalled;
    // We were not listening during the stall: do not blame the peer for it.
    if (stalled > 0) this.lastInboundAt = Math.min(now, this.lastInboundAt + stalled);
    if (this.timeoutMs !== 0 && now - this.lastInboundAt >= this.timeoutMs) return 'dead';
    if (now >= this.nextPingAt) {
      // On time (the timer wheel wakes up to one tick late): the next ping keeps
      // the schedule, so the lateness does not add up into a longer interval.
      // After a stall the schedule restarts from the wake-up.
      this.nextPingAt = stalled > 0 ? now + this.intervalMs : Math.max(this.nextPingAt + this.intervalMs, now);
      // Frames went both ways within the interval: no ping needed. After a stall, one goes out anyway.
      const busy = this.traffic === (HEARD | WROTE) && stalled === 0;
      this.traffic = 0;
      this.wakeAt();
      return busy ? 'wait' : 'ping';
    }
    this.wakeAt();
    return 'wait';
  }

  /** Total time credited for our own stalls since the last restart, in ms. */
  get stalledMs(): number {
    return this.stalled;
  }
}
