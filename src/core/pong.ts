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

/** headSeq when no ping is outstanding (seqs are u32, never negative). */
const NONE = -1;

/**
 * Pings written and not yet answered, in write order. One per client, not per
 * connection: seqs keep rising across reconnects, so a pong that belongs to
 * an earlier connection can never match a ping of this one. The client's is
 * its HeartbeatMonitor (core/heartbeat.ts extends this class): one object.
 *
 * A heartbeat has one ping out at a time: the oldest outstanding ping lives in
 * three number fields, and a Map holds the later ones only while there are
 * any. So a ping and its pong allocate nothing that outlives them. A Map that
 * empties on every pong reallocates its table each time (V8 shrinks an
 * OrderedHashTable on delete: Runtime_MapShrink was about 2 % of the client
 * process's CPU in a perf profile of bench/scale.ts at 10,000 clients), and
 * that table, kept until the next ping a second later, survives young-generation
 * collections; so would a boxed RTT, hence NaN rather than undefined.
 */
export class PingLedger {
  /** The oldest outstanding ping (NONE: none), when it was written and its mark. */
  private headSeq = NONE;
  private headSentAt = 0;
  private headMark = 0;
  /** The pings written after it, in write order; undefined while there are none. */
  private later: Map<number, Outstanding> | undefined = undefined;
  private nextSeq: number;
  /** Pings forgotten past the bound and not known to be answered: bare pongs pay these first. */
  private forgotten = 0;
  /**
   * NONE until a pong matched. Times come from the timer wheel's clock in whole
   * ms (io/timer-wheel.ts), so this and headSentAt stay small integers that V8
   * keeps in the object: NaN or a fraction would box each as a heap number.
   */
  private lastRtt = NONE;

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
    if (this.headSeq === NONE) {
      this.headSeq = seq;
      this.headSentAt = now;
      this.headMark = mark;
    } else {
      (this.later ??= new Map()).set(seq, { sentAt: now, mark });
    }
    if (this.outstanding > this.max) {
      this.settleHead();
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
    if (pong === true && this.forgotten > 0) {
      this.forgotten--;
      return undefined;
    }
    if (this.headSeq === NONE) return undefined;
    let sentAt: number;
    let mark: number;
    const seq = pong === true ? this.headSeq : pong;
    if (seq === this.headSeq) {
      sentAt = this.headSentAt;
      mark = this.headMark;
      this.settleHead();
    } else {
      const later = this.later;
      const ping = later?.get(seq);
      if (later === undefined || ping === undefined) return undefined;
      sentAt = ping.sentAt;
      mark = ping.mark;
      for (const key of later.keys()) {
        later.delete(key);
        if (key === seq) break;
      }
      this.headSeq = NONE;
      this.promote();
    }
    if (pong !== true) this.forgotten = 0;
    this.lastRtt = Math.max(0, now - sentAt);
    return { seq, rttMs: this.lastRtt, mark };
  }

  /** The connection is gone: its pings can never be answered. Seqs continue. */
  clear(): void {
    this.headSeq = NONE;
    this.later = undefined;
    this.forgotten = 0;
  }

  /** Pings awaiting a pong. */
  get outstanding(): number {
    return this.headSeq === NONE ? 0 : 1 + (this.later?.size ?? 0);
  }

  /** The last measured RTT in ms, if any pong matched. */
  get rttMs(): number | undefined {
    return this.lastRtt === NONE ? undefined : this.lastRtt;
  }

  /** Drops the oldest outstanding ping; the next one, if any, becomes the oldest. */
  private settleHead(): void {
    this.headSeq = NONE;
    this.promote();
  }

  /** Moves the first of the later pings into the head fields (the head is empty). */
  private promote(): void {
    const later = this.later;
    if (later === undefined) return;
    for (const [seq, ping] of later) {
      later.delete(seq);
      this.headSeq = seq;
      this.headSentAt = ping.sentAt;
      this.headMark = ping.mark;
      break;
    }
    if (later.size === 0) this.later = undefined;
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
