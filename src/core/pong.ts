/**
 * Pongs of a codec heartbeat: what the user's `heartbeat.isPong` returned,
 * normalised, and the ledger of pings awaiting their pong.
 *
 * A pong that names its ping (isPong returned the seq) gives an exact RTT and
 * lets a numbered reply that answers none of our pings (the app's own PING
 * command) reach the app as a message. A bare `true` pong answers the oldest
 * ping still outstanding, which holds when the server answers pings in order
 * (TCP delivers them in order; Redis, IRC and MQTT answer them in order).
 *
 * Pure: no socket, no timer; time comes in as arguments.
 */

/** A normalised pong: `true` (a pong without a number) or the seq it answers. */
export type Pong = true | number;

/**
 * What `isPong(m)` returned, normalised. A number is the seq it answers (0 is a
 * seq; a number that is not a seq we sent, NaN included, matches no ping).
 * `false`, `undefined` and any other falsy value: not a pong. Any other truthy
 * value counts as `true`, as the boolean `isPong` always did.
 */
export function pongOf(result: unknown): Pong | undefined {
  if (typeof result === 'number') return result;
  return result ? true : undefined;
}

/** Past this many unanswered pings the oldest is forgotten (the heartbeat's own bound). */
export const MAX_OUTSTANDING_PINGS = 64;

/** Seqs are u32 on the wire (the native PING carries a u32). */
const SEQ_MODULO = 2 ** 32;

/** A pong matched to the ping it answers. */
export interface PingMatch {
  readonly seq: number;
  /** now - the time the ping was written, in ms (never negative). */
  readonly rttMs: number;
  /** What the writer attached to the ping (the confirm mark; 0 when none). */
  readonly mark: number;
}

interface Outstanding {
  readonly sentAt: number;
  readonly mark: number;
}

/**
 * Pings written and not yet answered, keyed by seq, in write order. One per
 * client, not per connection: seqs keep rising across reconnects, so a pong
 * that belongs to an earlier connection can never match a ping of this one.
 */
export class PingLedger {
  /**
   * Insertion order is write order. Exists only while a ping is outstanding:
   * an idle client spends most of each interval with none, and an empty Map
   * is about 200 B (bench/heap-per-client.ts); a new one per ping costs less.
   */
  private pingsMap: Map<number, Outstanding> | undefined = undefined;
  private nextSeq: number;
  /** Pings forgotten past the bound and not known to be answered: bare pongs pay these first. */
  private forgotten = 0;
  private lastRtt: number | undefined;

  constructor(
    private readonly max = MAX_OUTSTANDING_PINGS,
    firstSeq = 0,
  ) {
    this.nextSeq = firstSeq;
  }

  /** Records a ping written at `now`, carrying `mark`; returns its seq (the first is `firstSeq`, 0 by default). */
  sent(now: number, mark = 0): number {
    const seq = this.nextSeq;
    // Not `% SEQ_MODULO`: a double operand made the field a boxed double in every ledger.
    this.nextSeq = seq === SEQ_MODULO - 1 ? 0 : seq + 1;
    const pings = (this.pingsMap ??= new Map());
    pings.set(seq, { sentAt: now, mark });
    if (pings.size > this.max) {
      pings.delete(pings.keys().next().value as number);
      this.forgotten++;
    }
    return seq;
  }

  /**
   * A pong arrived at `now`. Returns the ping it answers, or undefined when it
   * answers none of ours: a seq never sent or already settled, or a bare pong
   * with no ping outstanding (or paying for a forgotten one). A matched ping
   * settles every older one too: the server answers in order, so those were
   * answered or will never be.
   */
  match(pong: Pong, now: number): PingMatch | undefined {
    const pings = this.pingsMap;
    if (pings === undefined) return undefined; // no ping was ever sent (nothing forgotten either)
    let seq: number;
    if (pong === true) {
      if (this.forgotten > 0) {
        this.forgotten--;
        return undefined;
      }
      const oldest = pings.keys().next();
      if (oldest.done) return undefined;
      seq = oldest.value;
    } else {
      if (!pings.has(pong)) return undefined;
      seq = pong;
      this.forgotten = 0;
    }
    const ping = pings.get(seq) as Outstanding;
    for (const key of pings.keys()) {
      pings.delete(key);
      if (key === seq) break;
    }
    if (pings.size === 0) this.pingsMap = undefined;
    this.lastRtt = Math.max(0, now - ping.sentAt);
    return { seq, rttMs: this.lastRtt, mark: ping.mark };
  }

  /** The connection is gone: its pings can never be answered. Seqs continue. */
  clear(): void {
    this.pingsMap = undefined;
    this.forgotten = 0;
  }

  /** Pings awaiting a pong. */
  get outstanding(): number {
    return this.pingsMap?.size ?? 0;
  }

  /** The last measured RTT in ms, if any pong matched. */
  get rttMs(): number | undefined {
    return this.lastRtt;
  }
}

/** Where an inbound message goes once `isPong` has looked at it. */
export type PongRoute =
  | { readonly kind: 'message' }
  | { readonly kind: 'pong'; readonly match: PingMatch | undefined };

const MESSAGE: PongRoute = Object.freeze({ kind: 'message' });

/**
 * Routes a message by what `isPong` returned for it: not a pong, or a
 * numbered pong that answers none of our pings, is a message for the app;
 * anything else is a pong (not emitted), matched to its ping when possible.
 */
export function routePong(ledger: PingLedger, isPongResult: unknown, now: number): PongRoute {
  const pong = pongOf(isPongResult);
  if (pong === undefined) return MESSAGE;
  const match = ledger.match(pong, now);
  if (match === undefined && pong !== true) return MESSAGE;
  return { kind: 'pong', match };
}
