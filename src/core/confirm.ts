/**
 * Barrier bookkeeping for `delivery: 'confirmed'` on a codec connection.
 *
 * A foreign server acknowledges nothing in our terms, but TCP delivers bytes
 * in order: a server that answers a ping has read every message written before
 * that ping. So a message is confirmed when the pong arrives for any ping
 * written after it (a barrier ping of ours or a heartbeat ping). Assumption,
 * stated in docs/client.md: the server reads and answers pings in order with
 * the messages before them (Redis, IRC, MQTT, most line protocols).
 *
 * Barrier rule: after a write batch, a barrier ping is due when the batch left
 * messages that no ping covers and fewer than `maxBarriers` covering pings are
 * awaiting their pong. Otherwise the next barrier is due the moment a pong
 * brings the count below `maxBarriers`, and covers everything written
 * meanwhile. With the default of 1: at most one barrier per round trip, never
 * one per message; a message is confirmed after about one RTT on an idle link
 * and two under load.
 *
 * Pure: no socket, no timer, no seqs. Each ping carries a mark (what
 * `pinged()` returns), kept with the ping in src/core/pong.ts's PingLedger;
 * the mark of the ping a pong answers goes to `answered()`. Marks are
 * positions in a count of every message ever written, across connections, so
 * a mark from an earlier connection confirms nothing written since.
 */

/** Covering pings awaiting their pong before writes stop asking for another barrier. */
export const BARRIERS_IN_FLIGHT = 1;

interface Written<T> {
  readonly item: T;
  /** Position in the count of messages ever written. */
  readonly at: number;
}

/** What a pong changed. */
export interface Confirmation<T> {
  /** Messages now confirmed, in write order (each exactly once over the ledger's life). */
  readonly confirmed: T[];
  /** True when a barrier ping should be written now. */
  readonly barrier: boolean;
}

/**
 * Messages written on the current connection and not yet confirmed, in write
 * order, and the marks of the pings that will confirm them.
 */
export class ConfirmLedger<T> {
  private entries: Array<Written<T>> = [];
  /** Messages ever written: the next message's position. */
  private written = 0;
  /** Positions below this are covered by a ping written on the current connection. */
  private covered = 0;
  /** Marks of covering pings awaiting their pong, ascending. */
  private inFlight: number[] = [];

  constructor(private readonly maxBarriers = BARRIERS_IN_FLIGHT) {
    if (!Number.isInteger(maxBarriers) || maxBarriers < 1) throw new RangeError(`maxBarriers must be an integer >= 1, got ${maxBarriers}`);
  }

  /**
   * One write batch went to the socket, in this order. Returns true when a
   * barrier ping should be written right after it.
   */
  wrote(batch: readonly T[]): boolean {
    for (const item of batch) this.entries.push({ item, at: this.written++ });
    return this.barrierDue();
  }

  /**
   * A ping (barrier or heartbeat) is written now, after everything written so
   * far. Returns its mark, to be handed back to `answered()` with its pong.
   */
  pinged(): number {
    const mark = this.written;
    if (mark > this.covered) {
      this.covered = mark;
      this.inFlight.push(mark);
    }
    return mark;
  }

  /**
   * The pong for the ping carrying `mark` arrived: every message written
   * before that ping is confirmed. A stale or repeated mark confirms nothing.
   */
  answered(mark: number): Confirmation<T> {
    let n = 0;
    while (n < this.entries.length && (this.entries[n] as Written<T>).at < mark) n++;
    // One splice per pong, at most one pong per barrier: cheap next to the writes it confirms.
    const confirmed = this.entries.splice(0, n).map((e) => e.item);
    // Pongs come in order: pings written before this one are answered too.
    let settled = 0;
    while (settled < this.inFlight.length && (this.inFlight[settled] as number) <= mark) settled++;
    if (settled > 0) this.inFlight.splice(0, settled);
    return { confirmed, barrier: this.barrierDue() };
  }

  /**
   * The connection dropped (or the client gives up): returns the unconfirmed
   * messages in write order, each once, and forgets them and every ping.
   * They are to be written again first on the next connection (at least once).
   */
  drop(): T[] {
    const left = this.unconfirmed();
    this.entries = [];
    this.covered = this.written;
    this.inFlight = [];
    return left;
  }

  /** The unconfirmed messages, in write order (they count in pending()). */
  unconfirmed(): T[] {
    return this.entries.map((e) => e.item);
  }

  /** Messages written and not yet confirmed. */
  get size(): number {
    return this.entries.length;
  }

  /** Unconfirmed messages that no ping written since covers. */
  get uncovered(): number {
    return this.written - this.covered;
  }

  /** Covering pings awaiting their pong. */
  get barriersInFlight(): number {
    return this.inFlight.length;
  }

  /** True when a barrier ping should be written now (see the rule above). */
  barrierDue(): boolean {
    return this.written > this.covered && this.inFlight.length < this.maxBarriers;
  }
}
