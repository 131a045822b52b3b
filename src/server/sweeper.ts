/**
 * Every deadline of the server on one clock (many connections, one timer,
 * as Netty runs every idle check of a process on one HashedWheelTimer): the
 * handshake, frame, blocked-output, idle and session-ttl lists, swept every sweepIntervalMs
 * in O(expired). The clock excludes stalls of our own process (the rule in
 * core/clock.ts): a late sweep tick means timers ran before pending socket
 * reads, so bytes that arrived during the stall are unread and that time must
 * not count as the clients' silence.
 */
import { performance } from 'node:perf_hooks';
import { StalledTime } from '../core/clock';
import { ExpiryList } from './expiry-list';
import type { ResolvedServerOptions } from './options';
import type { ServerLink } from './server-link';
import type { Session } from './session';

/** What the server does with each expired entry. */
export interface Verdicts {
  handshakeTimeout(link: ServerLink): void;
  frameTimeout(link: ServerLink): void;
  slowConsumer(link: ServerLink): void;
  idle(link: ServerLink): void;
  sessionExpired(session: Session): void;
}

type Timeouts = Pick<ResolvedServerOptions, 'sweepIntervalMs' | 'handshakeTimeoutMs' | 'frameTimeoutMs' | 'slowConsumerMs' | 'idleTimeoutMs' | 'sessionTtlMs'>;

/** The idle list's lazy-touch slack as a fraction of idleTimeoutMs. */
const ACTIVE_SLACK_FRACTION = 1 / 2;

/**
 * How long a connection keeps its place in the idle list while it reads:
 * half of idleTimeoutMs. A live client pings at least every heartbeatMs (by
 * default a third of idleTimeoutMs), so it is never silent long enough (over
 * half) for the sweep to look at it; a dead one is looked at by the sweeps of
 * the last half of its timeout, one comparison each, before it expires.
 */
export function activeSlackMs(opts: Pick<Timeouts, 'idleTimeoutMs'>): number {
  return Math.floor(opts.idleTimeoutMs * ACTIVE_SLACK_FRACTION);
}

export class Sweeper {
  /** Connections before WELCOME, by accept time (handshake timeout). */
  readonly handshaking = new ExpiryList<ServerLink>();
  /**
   * Open connections by last inbound byte (idle timeout). Touched on every
   * read, lazily: a read moves its connection only when its place is older
   * than activeSlackMs() (expiry-list.ts; docs/decisions.md, "Lazy touch of
   * the idle list").
   */
  readonly active: ExpiryList<ServerLink>;
  /** Connections with a frame partly received, by when that frame began (frame timeout). */
  readonly partialFrames = new ExpiryList<ServerLink>();
  /** Connections whose output is blocked, by when it blocked (slow consumer). */
  readonly blockedOutput = new ExpiryList<ServerLink>();
  /** Disconnected sessions by disconnect time (session TTL). */
  readonly retained = new ExpiryList<Session>();
  /** Sweep ticks run and entries they expired (for tests and benchmarks). */
  readonly stats = { ticks: 0, idleClosed: 0, handshakeClosed: 0, frameTimeouts: 0, slowConsumers: 0, sessionsExpired: 0 };
  private timer: NodeJS.Timeout | undefined;
  private expectedAt = 0;
  private readonly stalls = new StalledTime();

  constructor(
    private readonly opts: Timeouts,
    private readonly verdicts: Verdicts,
  ) {
    this.active = new ExpiryList<ServerLink>(activeSlackMs(opts));
  }

  /** Starts the one sweep timer (unref'd: the listening socket keeps the process alive). */
  start(): void {
    this.expectedAt = performance.now() + this.opts.sweepIntervalMs;
    this.timer = setInterval(this.onTimer, this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * The time to record a touch at: performance.now() minus the time our own
   * process was stalled, rounded up to a whole ms. Whole ms stay small
   * integers in the list nodes (`at`, `placedAt`), where a fractional ms is
   * a 16-byte heap number each. Rounded up, and the sweep's time down
   * (sweepClock()): a member is never swept before its full timeout, only up
   * to 2 ms after it.
   */
  clock(): number {
    return Math.ceil(this.stalls.credited(performance.now()));
  }

  /** The time a sweep judges by: the credited clock rounded down to a whole ms (see clock()). */
  sweepClock(): number {
    return Math.floor(this.stalls.credited(performance.now()));
  }

  /** Runs one sweep at `now` on the credited clock. Cost: O(expired). */
  sweep(now = this.sweepClock()): void {
    const { opts, verdicts: v } = this;
    this.stats.ticks++;
    this.expire(this.handshaking, now, opts.handshakeTimeoutMs, 'handshakeClosed', (c) => v.handshakeTimeout(c));
    this.expire(this.partialFrames, now, opts.frameTimeoutMs, 'frameTimeouts', (c) => v.frameTimeout(c));
    this.expire(this.blockedOutput, now, opts.slowConsumerMs, 'slowConsumers', (c) => v.slowConsumer(c));
    this.expire(this.active, now, opts.idleTimeoutMs, 'idleClosed', (c) => v.idle(c));
    this.expire(this.retained, now, opts.sessionTtlMs, 'sessionsExpired', (s) => v.sessionExpired(s));
  }

  /** One list's expired entries: counted under `counter`, then handed to their verdict. */
  private expire<T>(list: ExpiryList<T>, now: number, timeoutMs: number, counter: Exclude<keyof Sweeper['stats'], 'ticks'>, verdict: (entry: T) => void): void {
    for (const entry of list.expire(now, timeoutMs)) {
      this.stats[counter]++;
      verdict(entry);
    }
  }

  private readonly onTimer = (): void => {
    const now = performance.now();
    this.stalls.note(this.expectedAt, now);
    this.expectedAt = now + this.opts.sweepIntervalMs;
    this.sweep();
  };
}
