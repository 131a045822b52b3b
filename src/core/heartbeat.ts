/**
 * Heartbeat scheduling and liveness verdicts, with the clock passed in.
 *
 * The monitor answers three questions for its owner (the client's connection):
 * when to wake next, whether to send a ping on waking, and whether the link is
 * dead. Any inbound frame counts as proof of life (a busy link needs no pong to
 * stay alive); a pong also yields a round-trip time. No socket, no timer.
 * A late wake-up is a stall of our own process, credited by the rule in
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

export interface Ping {
  readonly seq: number;
  readonly sentAt: number;
}

export type TickResult =
  | { readonly kind: 'dead'; readonly silentMs: number }
  | { readonly kind: 'ping'; readonly ping: Ping; readonly wakeAt: number }
  | { readonly kind: 'wait'; readonly wakeAt: number };

/** Pings older than the timeout can no longer matter; keep at most this many. */
const MAX_OUTSTANDING = 64;

export class HeartbeatMonitor {
  private lastInboundAt: number;
  private nextPingAt: number;
  private seq = 0;
  private readonly outstanding = new Map<number, number>();
  private lastRtt: number | undefined;
  /** The wake-up time last handed out, to measure how late the timer fired. */
  private expectedWake: number;
  private readonly stalls = new StalledTime();

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
    if (now > this.lastInboundAt) this.lastInboundAt = now;
  }

  /** A pong arrived. Returns the RTT in ms, or undefined for an unknown seq. */
  onPong(seq: number, now: number): number | undefined {
    this.onInbound(now);
    const sentAt = this.outstanding.get(seq);
    if (sentAt === undefined) return undefined;
    // Pongs come in order over TCP: everything older is answered or lost.
    for (const key of this.outstanding.keys()) {
      this.outstanding.delete(key);
      if (key === seq) break;
    }
    this.lastRtt = Math.max(0, now - sentAt);
    return this.lastRtt;
  }

  /** A pong that carries no seq (a user codec's): it answers the oldest outstanding ping. */
  onPongOldest(now: number): number | undefined {
    const oldest = this.outstanding.keys().next();
    if (oldest.done) {
      this.onInbound(now);
      return undefined;
    }
    return this.onPong(oldest.value, now);
  }

  /** When the owner's timer should fire next. */
  wakeAt(): number {
    this.expectedWake = Math.min(this.nextPingAt, this.lastInboundAt + this.opts.timeoutMs);
    return this.expectedWake;
  }

  /**
   * Called when the timer fires (early or late). Decides dead / ping / wait;
   * a ping returned here is recorded as sent.
   */
  tick(now: number): TickResult {
    const stalled = this.stalls.note(this.expectedWake, now);
    // We were not listening during the stall: do not blame the peer for it.
    if (stalled > 0) this.lastInboundAt = Math.min(now, this.lastInboundAt + stalled);
    const silentMs = now - this.lastInboundAt;
    if (silentMs >= this.opts.timeoutMs) return { kind: 'dead', silentMs };
    if (now >= this.nextPingAt) {
      const ping: Ping = { seq: this.seq, sentAt: now };
      this.seq = (this.seq + 1) >>> 0; // u32 on the wire
      this.outstanding.set(ping.seq, now);
      if (this.outstanding.size > MAX_OUTSTANDING) {
        const oldest = this.outstanding.keys().next().value;
        if (oldest !== undefined) this.outstanding.delete(oldest);
      }
      this.nextPingAt = now + this.opts.intervalMs;
      return { kind: 'ping', ping, wakeAt: this.wakeAt() };
    }
    return { kind: 'wait', wakeAt: this.wakeAt() };
  }

  /** Total time credited for our own stalls, in ms. */
  get stalledMs(): number {
    return this.stalls.total;
  }

  /** The last measured RTT in ms, if any pong arrived. */
  get rttMs(): number | undefined {
    return this.lastRtt;
  }

  /** How many pings are awaiting a pong. */
  get outstandingPings(): number {
    return this.outstanding.size;
  }
}
