/**
 * Delivery bookkeeping, shared by client and server: the outbound window
 * (queued + in flight, bounded, acked cumulatively, resent after a resume) and
 * the inbound dedup tracker. Pure: no socket, no timer; time comes in as
 * arguments.
 *
 * Ids are per sender and monotonic. A message's id is provisional until it is
 * first written: a handshake message (`enqueueAhead`) takes the place, and
 * the id, of the first message never written, which moves up by one. From its
 * first write on an id is fixed, so a resend carries the same id and the
 * receiver drops what it already has.
 * Over 300 lines: the two halves of one contract (ids, cumulative acks,
 * resume), kept side by side so they read together, and the outbound ring's
 * slot plumbing (push, move, clear, grow), which no other file needs.
 */
import { ResilientError, sdkError } from './errors';

export type OverflowPolicy = 'reject' | 'drop-oldest';

export interface QueueOptions {
  /** Bound on messages held (queued + awaiting ack). */
  maxMessages: number;
  /** Bound on payload bytes held (queued + awaiting ack). */
  maxBytes: number;
  /** What a send() does when a bound would be exceeded. */
  overflow: OverflowPolicy;
}

export const QUEUE_DEFAULTS: Readonly<QueueOptions> = Object.freeze({
  maxMessages: 10_000,
  maxBytes: 16 * 1024 * 1024,
  overflow: 'reject',
});

/** Slot flags: written on some connection; a handshake message put ahead; a hole (its message removed). */
const WRITTEN = 1;
const AHEAD = 2;
const HOLE = 4;

/**
 * The arrays of a window with no ring (cap 0): one frozen empty array shared
 * by every such window, so an idle one (every client has one) allocates none.
 * Nothing writes a slot before grow() made the ring.
 */
const NO_SLOTS: never[] = Object.freeze([]) as never[];

/** Slots of a window's first ring; it doubles when full, and is kept (see emptied()). */
const FIRST_CAPACITY = 8;
/** Holes beyond the messages held that make removeAt() close up the never-written tail (see closeHoles()). */
const SPARE_HOLES = 1024;

/** What enqueueAhead() returns: the message's id, or why it was refused (already rejected). */
export interface Enqueued {
  readonly id?: number;
  readonly refused?: ResilientError;
}

/**
 * Messages accepted but not yet acknowledged, in id order: a ring of
 * parallel arrays (payload, resolve, reject, expiry, flags), so a held
 * message is five array slots and no object of its own (an object per held
 * message lived until its ack and survived young-generation collections:
 * docs/decisions.md, "The outbound window is a ring of parallel arrays").
 *
 * A slot's id is implicit: the id of the slot at the head plus its offset.
 * A message removed before its turn (expired, withdrawn, dropped,
 * discarded) leaves a hole, skipped by takeNext() and freed when the head
 * passes it, so its id is never reused and removal moves nothing. A
 * handshake message put ahead shifts the slots behind it up by one, which
 * is exactly its taking of their ids (enqueueAhead).
 *
 * The first `cursor` slots from the head were taken on the current
 * connection (`sent` of them messages, the rest holes); the others wait to
 * be written. Removal from the front is O(1).
 */
export class OutboundWindow {
  private payloads: (Buffer | undefined)[] = NO_SLOTS;
  private resolves: ((() => void) | undefined)[] = NO_SLOTS;
  private rejects: (((err: ResilientError) => void) | undefined)[] = NO_SLOTS;
  /** Absolute expiry of an unsent message (Infinity: none); doubles, unboxed in a double array. */
  private expiries: number[] = NO_SLOTS;
  private flags: number[] = NO_SLOTS;
  /** Ring capacity, a power of two (0 before the first message). */
  private cap = 0;
  /** Ring index of the oldest slot. */
  private head = 0;
  /** Slots in use from the head, holes included. */
  private len = 0;
  /** Most slots in use since the window last emptied. */
  private peak = 0;
  /** Messages held (slots that are not holes). */
  private count = 0;
  /** Slots from the head taken on the current connection. */
  private cursor = 0;
  private sent = 0;
  private bytes = 0;
  /** Id of the slot at the head; the next accepted message gets baseId + len. */
  private baseId: number;
  /** Highest id ever written, on any connection: no peer can hold more (see checkAcked). */
  private maxWritten: number;
  /** Id of the message last returned by takeNext(). */
  private lastTaken = 0;
  /** Told of each message the 'drop-oldest' policy pushed out (already rejected with ERR_QUEUE_FULL). */
  onDropped: ((id: number, payload: Buffer) => void) | undefined = undefined;

  constructor(
    private readonly opts: QueueOptions,
    firstId = 1,
  ) {
    this.baseId = firstId;
    this.maxWritten = firstId - 1;
  }

  /** Highest id ever written on any connection (firstId − 1 before the first write). */
  get highestWritten(): number {
    return this.maxWritten;
  }

  /**
   * Throws ERR_PROTOCOL when `id` (an ACK, or a resume position) is beyond
   * the highest id ever written: the peer claims messages it cannot have, and
   * believing it would resolve sends that never left (issue 9 item 3).
   */
  checkAcked(id: number, what = 'ACK'): void {
    if (id > this.maxWritten) {
      throw sdkError('ERR_PROTOCOL', `${what} ${id} is beyond the highest id written (${this.maxWritten})`);
    }
  }

  /** Messages held (queued + in flight). */
  get size(): number {
    return this.count;
  }
  /** Payload bytes held. */
  get sizeBytes(): number {
    return this.bytes;
  }
  /** Messages written on the current connection and not yet acked. */
  get inFlight(): number {
    return this.sent;
  }
  /** Messages waiting to be written. */
  get queued(): number {
    return this.count - this.sent;
  }
  /** The id the next accepted message gets. */
  get peekNextId(): number {
    return this.baseId + this.len;
  }
  /** The id of the message last returned by takeNext(). */
  get takenId(): number {
    return this.lastTaken;
  }

  /**
   * Accepts a message, or refuses it by the overflow policy: returns its id,
   * or undefined after rejecting it with ERR_QUEUE_FULL. Messages pushed out
   * by 'drop-oldest' are rejected with ERR_QUEUE_FULL and handed to
   * `onDropped`. Allocates nothing (it runs once per send()), but a new ring
   * when this one is full.
   */
  enqueue(
    payload: Buffer,
    expiresAt: number,
    resolve: () => void,
    reject: (err: ResilientError) => void,
  ): number | undefined {
    const refused = this.makeRoom(1, payload.length);
    if (refused) {
      reject(refused);
      return undefined;
    }
    const id = this.baseId + this.len;
    this.push(payload, expiresAt, resolve, reject, 0);
    this.bytes += payload.length;
    return id;
  }

  /**
   * Accepts all of `payloads` or none (one sendMany() batch): if the batch as
   * a whole does not fit the bounds (after 'drop-oldest' made what room it
   * can), nothing is accepted and `reject` is called once with
   * ERR_QUEUE_FULL. Every message of the batch shares `resolve` and `reject`.
   * Returns how many were accepted (0 or payloads.length).
   */
  enqueueAll(
    payloads: readonly Buffer[],
    expiresAt: number,
    resolve: () => void,
    reject: (err: ResilientError) => void,
  ): number {
    let bytes = 0;
    for (const p of payloads) bytes += p.length;
    const refused = this.makeRoom(payloads.length, bytes);
    if (refused) {
      reject(refused);
      return 0;
    }
    for (const payload of payloads) this.push(payload, expiresAt, resolve, reject, 0);
    this.bytes += bytes;
    return payloads.length;
  }

  /**
   * A handshake message: accepted by the same bounds as enqueue(), but placed
   * after what was written before (those are resent first, in id order) and
   * after earlier handshake messages, ahead of every message never written.
   * It takes the first such message's id, and they all move up by one, so
   * ids stay in write order and the receiver's dedup drops nothing
   * (docs/decisions.md, "On the native protocol, link.send goes ahead of the
   * queue"). O(messages queued), once per handshake message.
   */
  enqueueAhead(payload: Buffer, resolve: () => void, reject: (err: ResilientError) => void): Enqueued {
    const refused = this.makeRoom(1, payload.length);
    if (refused) {
      reject(refused);
      return { refused };
    }
    let at = this.cursor;
    while (at < this.len && this.flagsAt(at) & (WRITTEN | HOLE)) at++;
    while (at < this.len && this.flagsAt(at) & (AHEAD | HOLE)) at++;
    // Room for one more at the tail, then the slots from `at` move up by one.
    this.push(undefined, Infinity, undefined, undefined, HOLE);
    this.count--;
    for (let i = this.len - 1; i > at; i--) this.moveSlot(i - 1, i);
    this.setSlot(at, payload, Infinity, resolve, reject, AHEAD);
    this.count++;
    this.bytes += payload.length;
    return { id: this.baseId + at };
  }

  /**
   * The payload of the next message to write, marked as in flight (its id:
   * `takenId`); undefined when none waits. `held` (a handshake is running):
   * only resends and handshake messages.
   */
  takeNext(held = false): Buffer | undefined {
    const mask = this.cap - 1;
    const flags = this.flags;
    let at = this.cursor;
    while (at < this.len && flags[(this.head + at) & mask]! & HOLE) at++;
    this.cursor = at;
    if (at === this.len) return undefined;
    const i = (this.head + at) & mask;
    const f = flags[i]!;
    if (held && !(f & (WRITTEN | AHEAD))) return undefined;
    flags[i] = f | WRITTEN;
    this.cursor = at + 1;
    this.sent++;
    const id = this.baseId + at;
    this.lastTaken = id;
    if (id > this.maxWritten) this.maxWritten = id;
    return this.payloads[i];
  }

  /**
   * Removes the message last returned by takeNext() and rejects it with `err`.
   * A takeNext() that found nothing may have moved the cursor past holes: the
   * message is the last one before the cursor that is not a hole.
   */
  discardTaken(err: ResilientError): void {
    if (this.sent === 0) return;
    let at = this.cursor - 1;
    while (at >= 0 && this.flagsAt(at) & HOLE) at--;
    if (at < 0) return;
    this.sent--;
    this.removeAt(at, err);
  }

  /** The peer has everything up to `id`: resolves those messages. Returns how many. Throws ERR_PROTOCOL, resolving nothing, beyond the highest id written. */
  ack(id: number): number {
    this.checkAcked(id);
    let n = 0;
    const mask = this.cap - 1;
    while (this.len > 0) {
      const i = this.head;
      const f = this.flags[i]!;
      if (!(f & HOLE) && (this.baseId > id || !(f & WRITTEN))) break;
      const resolve = this.resolves[i];
      if (!(f & HOLE)) {
        this.bytes -= (this.payloads[i] as Buffer).length;
        this.count--;
        n++;
      }
      this.clearSlot(i);
      this.head = (i + 1) & mask;
      this.len--;
      this.baseId++;
      if (this.cursor > 0) {
        this.cursor--;
        if (!(f & HOLE)) this.sent--;
      }
      resolve?.();
    }
    if (this.count === 0) this.emptied();
    return n;
  }

  /** The connection ended: everything in flight must be written again. */
  rewind(): void {
    this.cursor = 0;
    this.sent = 0;
  }

  /** A connection resumed with the peer holding up to `acked`: ack, then resend the rest. Throws ERR_PROTOCOL, changing nothing, beyond the highest id written. */
  resume(acked: number): number {
    this.checkAcked(acked, 'resume position');
    this.rewind();
    return this.ack(acked);
  }

  /** Rejects and removes unsent messages whose expiry has passed. Returns how many. */
  expire(now: number): number {
    let n = 0;
    for (let at = this.cursor; at < this.len; at++) {
      const i = (this.head + at) & (this.cap - 1);
      if (this.flags[i]! & (WRITTEN | HOLE) || this.expiries[i]! > now) continue;
      const id = this.baseId + at;
      this.removeAt(at, sdkError('ERR_MESSAGE_EXPIRED', `message ${id} expired before it could be sent`));
      n++;
    }
    return n;
  }

  /**
   * Withdraws every message not yet written that settles through `reject`
   * (one send() with an abort signal has its own; the messages of one
   * sendMany() batch share one), rejecting each with `err`. Returns how many:
   * 0 when they were written (or settled) already. O(messages held), once per
   * aborted send.
   */
  withdraw(reject: (err: ResilientError) => void, err: ResilientError): number {
    let n = 0;
    for (let at = this.cursor; at < this.len; at++) {
      const i = (this.head + at) & (this.cap - 1);
      if (this.flags[i]! & (WRITTEN | HOLE) || this.rejects[i] !== reject) continue;
      this.removeAt(at, err);
      n++;
    }
    return n;
  }

  /** The earliest expiry among unsent messages (Infinity if none). */
  nextExpiry(): number {
    let min = Infinity;
    for (let at = this.cursor; at < this.len; at++) {
      const i = (this.head + at) & (this.cap - 1);
      if (this.expiries[i]! < min && !(this.flags[i]! & (WRITTEN | HOLE))) min = this.expiries[i]!;
    }
    return min;
  }

  /** Payloads not yet acknowledged, in order (for the app to persist). */
  pending(): Buffer[] {
    const out: Buffer[] = [];
    for (let at = 0; at < this.len; at++) {
      const i = (this.head + at) & (this.cap - 1);
      if (!(this.flags[i]! & HOLE)) out.push(this.payloads[i] as Buffer);
    }
    return out;
  }

  /** Rejects every message with `err`, empties the window, returns the payloads in order. */
  rejectAll(err: ResilientError): Buffer[] {
    const all = this.pending();
    const rejects: ((err: ResilientError) => void)[] = [];
    for (let at = 0; at < this.len; at++) {
      const i = (this.head + at) & (this.cap - 1);
      if (!(this.flags[i]! & HOLE)) rejects.push(this.rejects[i]!);
    }
    this.baseId += this.len;
    this.head = this.len = this.peak = this.count = this.cursor = this.sent = this.bytes = 0;
    this.release();
    for (const reject of rejects) reject(err);
    return all;
  }

  /** Withdraws the handshake messages not yet written (their handshake ended), rejecting them with `err`. */
  withdrawAhead(err: ResilientError): void {
    for (let at = this.cursor; at < this.len; ) {
      const f = this.flagsAt(at);
      if (f & AHEAD && !(f & (WRITTEN | HOLE))) {
        // The messages behind it take back the ids they had before it went ahead.
        const i = (this.head + at) & (this.cap - 1);
        const reject = this.rejects[i]!;
        this.bytes -= (this.payloads[i] as Buffer).length;
        for (let j = at; j < this.len - 1; j++) this.moveSlot(j + 1, j);
        this.clearSlot((this.head + this.len - 1) & (this.cap - 1));
        this.len--;
        this.count--;
        reject(err);
      } else at++;
    }
    if (this.count === 0) this.emptied();
  }

  /**
   * Room for `count` more messages of `bytes` in all: under 'drop-oldest',
   * drops the oldest messages never written until they fit. Returns the
   * refusal (not yet delivered to anyone) when they still do not fit.
   */
  private makeRoom(count: number, bytes: number): ResilientError | undefined {
    const { maxMessages, maxBytes } = this.opts;
    if (count === 1 && bytes > maxBytes) return sdkError('ERR_QUEUE_FULL', `message of ${bytes} bytes exceeds queue.maxBytes (${maxBytes})`);
    if (count > maxMessages || bytes > maxBytes) {
      return sdkError('ERR_QUEUE_FULL', `a batch of ${count} messages (${bytes} bytes) exceeds queue.maxMessages / queue.maxBytes (${maxMessages} / ${maxBytes})`);
    }
    while (this.count + count > maxMessages || this.bytes + bytes > maxBytes) {
      // Only a message never written may be dropped: one that was on the wire
      // may already have arrived, and rejecting it would be a lie.
      const at = this.opts.overflow === 'drop-oldest' ? this.firstNeverWritten() : -1;
      if (at < 0) {
        return sdkError('ERR_QUEUE_FULL', `queue full (${this.count} messages, ${this.bytes} bytes; limits ${maxMessages} / ${maxBytes})`);
      }
      const id = this.baseId + at;
      const payload = this.payloads[(this.head + at) & (this.cap - 1)] as Buffer;
      this.removeAt(at, sdkError('ERR_QUEUE_FULL', `message ${id} dropped by queue.overflow 'drop-oldest'`));
      this.onDropped?.(id, payload);
    }
    return undefined;
  }

  /** Offset of the oldest user message never written (handshake messages are not dropped), or -1. */
  private firstNeverWritten(): number {
    for (let at = this.cursor; at < this.len; at++) {
      if (!(this.flagsAt(at) & (WRITTEN | AHEAD | HOLE))) return at;
    }
    return -1;
  }

  private flagsAt(at: number): number {
    return this.flags[(this.head + at) & (this.cap - 1)]!;
  }

  /** Appends a slot at the tail, doubling the ring when it is full. */
  private push(payload: Buffer | undefined, expiresAt: number, resolve: (() => void) | undefined, reject: ((err: ResilientError) => void) | undefined, flags: number): void {
    if (this.len === this.cap) this.grow();
    this.setSlot(this.len, payload, expiresAt, resolve, reject, flags);
    if (++this.len > this.peak) this.peak = this.len;
    this.count++;
  }

  private setSlot(at: number, payload: Buffer | undefined, expiresAt: number, resolve: (() => void) | undefined, reject: ((err: ResilientError) => void) | undefined, flags: number): void {
    const i = (this.head + at) & (this.cap - 1);
    this.payloads[i] = payload;
    this.resolves[i] = resolve;
    this.rejects[i] = reject;
    this.expiries[i] = expiresAt;
    this.flags[i] = flags;
  }

  private moveSlot(from: number, to: number): void {
    const mask = this.cap - 1;
    const f = (this.head + from) & mask;
    const t = (this.head + to) & mask;
    this.payloads[t] = this.payloads[f];
    this.resolves[t] = this.resolves[f];
    this.rejects[t] = this.rejects[f];
    this.expiries[t] = this.expiries[f]!;
    this.flags[t] = this.flags[f]!;
  }

  private clearSlot(i: number): void {
    this.payloads[i] = undefined;
    this.resolves[i] = undefined;
    this.rejects[i] = undefined;
  }

  /** Makes the message at offset `at` a hole and rejects it with `err`. */
  private removeAt(at: number, err: ResilientError): void {
    const i = (this.head + at) & (this.cap - 1);
    const reject = this.rejects[i]!;
    this.bytes -= (this.payloads[i] as Buffer).length;
    this.clearSlot(i);
    this.flags[i] = HOLE;
    this.count--;
    if (this.count === 0) this.emptied();
    else if (this.len - this.count > this.count + SPARE_HOLES) this.closeHoles();
    reject(err);
  }

  /**
   * Holes are freed when the head passes them, i.e. by acks. With the head
   * unacknowledged (offline, the window held for a reconnect) and sends that
   * expire or are aborted behind it, they would pile up without bound; so
   * past SPARE_HOLES more holes than messages, the slots above the highest id
   * ever written close up. Those messages were never on the wire: moving them
   * down renumbers them above maxWritten, as a handshake message put ahead of
   * them already may. Holes among written messages stay (their ids are fixed)
   * and go with the acks. O(slots), at most once per SPARE_HOLES removals
   * while the tail has holes to close.
   */
  private closeHoles(): void {
    const from = Math.min(this.len, Math.max(0, this.maxWritten - this.baseId + 1));
    let to = from;
    for (let at = from; at < this.len; at++) {
      if (this.flagsAt(at) & HOLE) continue;
      if (at !== to) this.moveSlot(at, to);
      to++;
    }
    for (let at = to; at < this.len; at++) this.clearSlot((this.head + at) & (this.cap - 1));
    this.len = to;
    // Past `from` the current connection took nothing but holes (takeNext skipped them).
    if (this.cursor > from) this.cursor = from;
  }

  /**
   * No message held: the holes go (their ids stay used; their slots are clear
   * already). The ring stays for the next run of sends, unless the run since
   * the last emptying used a quarter of it or less: a ring grown for a burst
   * is let go once the sends that follow are small again, and a window whose
   * sends come one at a time (awaited, or rare) holds no ring between them
   * (8 slots in five arrays are about 600 B per connection). So growing is
   * paid once per size of burst, not once per emptying (growing on every
   * emptying was 11 % of bench/send-path.ts's busy time).
   */
  private emptied(): void {
    this.baseId += this.len;
    this.head = this.len = this.cursor = this.sent = 0;
    if (this.cap > 0 && this.peak * 4 <= this.cap) this.release();
    this.peak = 0;
  }

  private release(): void {
    this.payloads = this.resolves = this.rejects = this.expiries = this.flags = NO_SLOTS;
    this.cap = 0;
  }

  private grow(): void {
    const cap = this.cap === 0 ? FIRST_CAPACITY : this.cap * 2;
    const payloads = new Array<Buffer | undefined>(cap).fill(undefined);
    const resolves = new Array<(() => void) | undefined>(cap).fill(undefined);
    const rejects = new Array<((err: ResilientError) => void) | undefined>(cap).fill(undefined);
    const expiries = new Array<number>(cap).fill(0.5);
    const flags = new Array<number>(cap).fill(0);
    const mask = this.cap - 1;
    for (let at = 0; at < this.len; at++) {
      const i = (this.head + at) & mask;
      payloads[at] = this.payloads[i];
      resolves[at] = this.resolves[i];
      rejects[at] = this.rejects[i];
      expiries[at] = this.expiries[i]!;
      flags[at] = this.flags[i]!;
    }
    this.payloads = payloads;
    this.resolves = resolves;
    this.rejects = rejects;
    this.expiries = expiries;
    this.flags = flags;
    this.cap = cap;
    this.head = 0;
  }
}

/**
 * Inbound side: drops ids already delivered and says when an ACK is due.
 * Cumulative: an ACK for n means "everything up to n arrived".
 */
export class InboundTracker {
  private delivered: number;
  private acked: number;

  constructor(lastDelivered = 0) {
    this.delivered = lastDelivered;
    this.acked = lastDelivered;
  }

  /** True when `id` is new and must be delivered; false for a duplicate. */
  accept(id: number): boolean {
    if (id <= this.delivered) return false;
    this.delivered = id;
    return true;
  }

  /** Highest id delivered. */
  get lastDelivered(): number {
    return this.delivered;
  }

  /** True when something was delivered since the last ACK taken. */
  get ackDue(): boolean {
    return this.delivered !== this.acked;
  }

  /** The id to acknowledge now, or undefined when the last ACK covers everything. */
  takeAck(): number | undefined {
    if (this.delivered === this.acked) return undefined;
    this.acked = this.delivered;
    return this.acked;
  }

}
