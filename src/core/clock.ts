/**
 * The stall rule, in one place. Used by the heartbeat (core/heartbeat.ts),
 * the socket deadlines (io/deadline.ts), both on the process's timer wheel
 * (io/timer-wheel.ts, which reports each entry's lateness), and the server's
 * sweep (server/sweeper.ts).
 *
 * A timer that runs much later than it was due was held up by a stall of our
 * own process (GC, a long synchronous task, SIGSTOP, a suspended laptop), not
 * by the peer. In each turn of Node's event loop timers run before the poll
 * phase that reads sockets, so bytes that arrived during the stall are still
 * unread when the late timer runs: the stalled time must not be counted as the
 * peer's silence, and the reads must be handled before any verdict.
 *
 * What each user does with a stall:
 * - a periodic check (heartbeat, sweep) wakes at least once per period, so
 *   its lateness is the stall, give or take one period: it adds the lateness
 *   to a `StalledTime` and measures silence on the credited clock;
 * - a one-shot deadline cannot tell how much of its budget the stall ate: it
 *   yields one poll phase so the reads go first, then fires, unless those
 *   reads showed progress, in which case it restarts its own length from the
 *   wake. Either way it fires no later than its own length after waking.
 */

/**
 * Lateness beyond which a timer is taken to have been stalled. Ordinary
 * timer jitter on a loaded Node process is a few ms (libuv rounds timers to
 * 1 ms and runs them once per loop turn); 20 ms is above that and well below
 * any timeout the SDK accepts in practice.
 */
export const STALL_THRESHOLD_MS = 20;

/** How long a timer that ran `lateMs` after it was due was stalled: its lateness, or 0 when that is jitter. */
export function stallOf(lateMs: number): number {
  return lateMs > STALL_THRESHOLD_MS ? lateMs : 0;
}

/** How long a timer due at `dueAt` and running at `now` was stalled: its lateness, or 0 when on time. */
export function stallMs(dueAt: number, now: number): number {
  return stallOf(now - dueAt);
}

/** Total time our process was stalled, as seen by one periodic check; the credited clock excludes it. */
export class StalledTime {
  /** Stalled time credited so far, in ms. */
  total = 0;

  /** Credits the stall of a periodic timer due at `dueAt` that ran at `now`; returns it (0 when on time). */
  note(dueAt: number, now: number): number {
    return this.credit(now - dueAt);
  }

  /** Credits the stall of a periodic timer that ran `lateMs` late (as the timer wheel reports it); returns it (0 when on time). */
  credit(lateMs: number): number {
    const s = stallOf(lateMs);
    this.total += s;
    return s;
  }

  /** `now` on the credited clock: time we could listen, stalls excluded. */
  credited(now: number): number {
    return now - this.total;
  }
}
