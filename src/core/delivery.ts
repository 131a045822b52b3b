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
 * resume), kept side by side so they read together.
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

/**
 * One message held by the window. A class with every field set in its
 * constructor, so all entries share one shape with every field in-object:
 * an object literal that gains `written` at its first write (or `onSettle`)
 * grows an out-of-object property store, one more allocation per held
 * message that survives young-generation collections (bench/send-path.ts,
 * docs/decisions.md "A held message is one entry of one shape").
 */
export class OutboundEntry {
  /**
   * True once written on any connection. Such an entry may have arrived, so
   * it is never expired, dropped or withdrawn: only acked, or rejected when
   * the whole window is given up.
   */
  written = false;
  /** Called once the entry is settled either way (e.g. to drop an abort listener). */
  onSettle: (() => void) | undefined = undefined;
  /**
   * The expiry, or undefined for none: Infinity is a heap number, and a
   * field that only ever held numbers would box a copy of it in every entry.
   */
  private readonly expiry: number | undefined;

  constructor(
    /** Fixed once written; before that a handshake message put ahead may move it up by one. */
    public id: number,
    readonly payload: Buffer,
    expiresAt: number,
    readonly resolve: () => void,
    readonly reject: (err: ResilientError) => void,
    /** A handshake message: written before anything never written, and while the queue is held. */
    readonly ahead = false,
  ) {
    this.expiry = expiresAt === Infinity ? undefined : expiresAt;
  }

  /** Absolute time after which an unsent entry expires (Infinity: never). */
  get expiresAt(): number {
    return this.expiry ?? Infinity;
  }
}

function settleOk(e: OutboundEntry): void {
  e.onSettle?.();
  e.resolve();
}

function settleErr(e: OutboundEntry, err: ResilientError): void {
  e.onSettle?.();
  e.reject(err);
}

/** What enqueueAhead() returns: the entry, or why it was refused (already rejected). */
export interface Enqueued {
  readonly entry?: OutboundEntry;
  readonly refused?: ResilientError;
}

/**
 * Messages accepted but not yet acknowledged, in id order. The first
 * `inFlight` entries have been written on the current connection; the rest
 * are waiting to be written. Removal from the front is O(1) amortised.
 */
export class OutboundWindow {
  private entries: OutboundEntry[] = [];
  private head = 0;
  private sent = 0;
  private bytes = 0;
  private nextId: number;
  /** Highest id ever written, on any connection: no peer can hold more (see checkAcked). */
  private maxWritten: number;
  /** Told of each entry the 'drop-oldest' policy pushed out (already rejected with ERR_QUEUE_FULL). */
  onDropped: ((entry: OutboundEntry) => void) | undefined = undefined;

  constructor(
    private readonly opts: QueueOptions,
    firstId = 1,
  ) {
    this.nextId = firstId;
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
    return this.entries.length - this.head;
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
    return this.size - this.sent;
  }
  /** The id the next accepted message gets. */
  get peekNextId(): number {
    return this.nextId;
  }

  /**
   * Accepts a message, or refuses it by the overflow policy: returns the
   * entry (its promise callbacks are the caller's), or undefined after
   * rejecting it with ERR_QUEUE_FULL. Entries pushed out by 'drop-oldest' are
   * rejected with ERR_QUEUE_FULL and handed to `onDropped`. Allocates nothing
   * but the entry (no closure, no result object: it runs once per send()).
   */
  enqueue(
    payload: Buffer,
    expiresAt: number,
    resolve: () => void,
    reject: (err: ResilientError) => void,
  ): OutboundEntry | undefined {
    const refused = this.makeRoom(1, payload.length);
    if (refused) {
      reject(refused);
      return undefined;
    }
    const entry = new OutboundEntry(this.nextId++, payload, expiresAt, resolve, reject);
    this.entries.push(entry);
    this.bytes += payload.length;
    return entry;
  }

  /**
   * Accepts all of `payloads` or none (one sendMany() batch): if the batch as
   * a whole does not fit the bounds (after 'drop-oldest' made what room it
   * can), nothing is accepted and `reject` is called once with
   * ERR_QUEUE_FULL. Every entry of the batch shares `resolve` and `reject`.
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
    for (const payload of payloads) this.entries.push(new OutboundEntry(this.nextId++, payload, expiresAt, resolve, reject));
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
    let at = this.head + this.sent;
    while (at < this.entries.length && (this.entries[at] as OutboundEntry).written) at++;
    while (at < this.entries.length && (this.entries[at] as OutboundEntry).ahead) at++;
    const entry = new OutboundEntry(this.nextId++, payload, Infinity, resolve, reject, true);
    if (at < this.entries.length) {
      entry.id = (this.entries[at] as OutboundEntry).id;
      for (let i = at; i < this.entries.length; i++) (this.entries[i] as OutboundEntry).id++;
    }
    this.entries.splice(at, 0, entry);
    this.bytes += payload.length;
    return { entry };
  }

  /**
   * The next entry to write, marked as in flight; undefined when none waits.
   * `held` (a handshake is running): only resends and handshake messages.
   */
  takeNext(held = false): OutboundEntry | undefined {
    const e = this.entries[this.head + this.sent];
    if (e && held && !e.written && !e.ahead) return undefined;
    if (e) {
      this.sent++;
      e.written = true;
      if (e.id > this.maxWritten) this.maxWritten = e.id;
    }
    return e;
  }

  /** Removes the entry last returned by takeNext() and rejects it with `err`. */
  discardTaken(err: ResilientError): void {
    if (this.sent === 0) return;
    this.sent--;
    settleErr(this.removeAt(this.head + this.sent), err);
  }

  /** The peer has everything up to `id`: resolves those entries. Returns how many. Throws ERR_PROTOCOL, resolving nothing, beyond the highest id written. */
  ack(id: number): number {
    this.checkAcked(id);
    let n = 0;
    while (this.head < this.entries.length) {
      const e = this.entries[this.head] as OutboundEntry;
      if (e.id > id || !e.written) break;
      this.entries[this.head] = undefined as unknown as OutboundEntry;
      this.head++;
      this.bytes -= e.payload.length;
      if (this.sent > 0) this.sent--;
      n++;
      settleOk(e);
    }
    this.compact();
    return n;
  }

  /** The connection ended: everything in flight must be written again. */
  rewind(): void {
    this.sent = 0;
  }

  /** A connection resumed with the peer holding up to `acked`: ack, then resend the rest. Throws ERR_PROTOCOL, changing nothing, beyond the highest id written. */
  resume(acked: number): number {
    this.checkAcked(acked, 'resume position');
    this.rewind();
    return this.ack(acked);
  }

  /** Rejects and removes unsent entries whose expiry has passed. Returns them. */
  expire(now: number): OutboundEntry[] {
    const expired: OutboundEntry[] = [];
    for (let i = this.head + this.sent; i < this.entries.length; ) {
      const e = this.entries[i] as OutboundEntry;
      if (e.expiresAt <= now && !e.written) {
        this.removeAt(i);
        settleErr(e, sdkError('ERR_MESSAGE_EXPIRED', `message ${e.id} expired before it could be sent`));
        expired.push(e);
      } else {
        i++;
      }
    }
    return expired;
  }

  /** Withdraws an entry not yet written, rejecting it with `err`. False if it was written (or settled) already. */
  withdraw(entry: OutboundEntry, err: ResilientError): boolean {
    if (entry.written) return false;
    for (let i = this.head + this.sent; i < this.entries.length; i++) {
      if (this.entries[i] === entry) {
        settleErr(this.removeAt(i), err);
        return true;
      }
    }
    return false;
  }

  /**
   * Withdraws every entry not yet written that settles through `reject` (the
   * entries of one sendMany() batch share it), rejecting each with `err`.
   * Returns how many. O(messages held), once per aborted batch.
   */
  withdrawGroup(reject: (err: ResilientError) => void, err: ResilientError): number {
    let n = 0;
    for (let i = this.head + this.sent; i < this.entries.length; ) {
      const e = this.entries[i] as OutboundEntry;
      if (e.reject === reject && !e.written) {
        settleErr(this.removeAt(i), err);
        n++;
      } else i++;
    }
    return n;
  }

  /** The earliest expiry among unsent entries (Infinity if none). */
  nextExpiry(): number {
    let min = Infinity;
    for (let i = this.head + this.sent; i < this.entries.length; i++) {
      const e = this.entries[i] as OutboundEntry;
      if (e.expiresAt < min && !e.written) min = e.expiresAt;
    }
    return min;
  }

  /** Payloads not yet acknowledged, in order (for the app to persist). */
  pending(): Buffer[] {
    return this.entries.slice(this.head).map((e) => e.payload);
  }

  /** Rejects every entry with `err`, empties the window, returns the payloads in order. */
  rejectAll(err: ResilientError): Buffer[] {
    const all = this.entries.slice(this.head);
    this.entries = [];
    this.head = 0;
    this.sent = 0;
    this.bytes = 0;
    for (const e of all) settleErr(e, err);
    return all.map((e) => e.payload);
  }

  /** Withdraws the handshake messages not yet written (their handshake ended), rejecting them with `err`. */
  withdrawAhead(err: ResilientError): void {
    for (let i = this.head + this.sent; i < this.entries.length; ) {
      const e = this.entries[i] as OutboundEntry;
      if (e.ahead && !e.written) {
        // The messages behind it take back the ids they had before it went ahead.
        for (let j = i + 1; j < this.entries.length; j++) (this.entries[j] as OutboundEntry).id--;
        this.nextId--;
        settleErr(this.removeAt(i), err);
      } else i++;
    }
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
    while (this.size + count > maxMessages || this.bytes + bytes > maxBytes) {
      // Only a message never written may be dropped: one that was on the wire
      // may already have arrived, and rejecting it would be a lie.
      const at = this.opts.overflow === 'drop-oldest' ? this.firstNeverWritten() : -1;
      if (at < 0) {
        return sdkError('ERR_QUEUE_FULL', `queue full (${this.size} messages, ${this.bytes} bytes; limits ${maxMessages} / ${maxBytes})`);
      }
      const victim = this.removeAt(at);
      settleErr(victim, sdkError('ERR_QUEUE_FULL', `message ${victim.id} dropped by queue.overflow 'drop-oldest'`));
      this.onDropped?.(victim);
    }
    return undefined;
  }

  /** Index of the oldest user message never written (handshake messages are not dropped), or -1. */
  private firstNeverWritten(): number {
    for (let i = this.head + this.sent; i < this.entries.length; i++) {
      const e = this.entries[i] as OutboundEntry;
      if (!e.written && !e.ahead) return i;
    }
    return -1;
  }

  private removeAt(index: number): OutboundEntry {
    const [e] = this.entries.splice(index, 1) as [OutboundEntry];
    this.bytes -= e.payload.length;
    return e;
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
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
