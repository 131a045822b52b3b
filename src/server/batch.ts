/**
 * The `messages` event's batch: the new messages one socket read delivered
 * from one session, handed over once per read instead of once per message.
 *
 * A message is three numbers and a reference (the buffer it lies in, where
 * its payload starts and ends, its id) written into arrays the server reuses
 * for every read: no view, no meta object and no `emit` per message. A view
 * (`payload(i)`) is made only when asked, and `copyPayload()` copies without
 * one. One batch serves the whole server: reads do not nest, and the batch
 * is emptied after its listeners return, so it is read during the call only.
 */
import type { Session } from './session';

/** Room for this many messages at first; doubles as needed (a 64 KiB read holds at most ~890 DATA frames of 64 B). */
const FIRST_CAPACITY = 64;

/** One read's new messages from one session (the `messages` event). Reused: read it during the call, do not keep it. */
export class MessageBatch {
  /** @internal The session whose read is being collected (undefined between reads and while handed over). */
  owner: Session | undefined = undefined;
  private count = 0;
  private bufs: Array<Buffer | undefined> = new Array<Buffer | undefined>(FIRST_CAPACITY).fill(undefined);
  private starts = new Int32Array(FIRST_CAPACITY);
  private ends = new Int32Array(FIRST_CAPACITY);
  private ids = new Float64Array(FIRST_CAPACITY);

  /** How many messages it holds (0 after the call). */
  get length(): number {
    return this.count;
  }

  /** The i-th message's id (ids increase through a batch and across batches of a session). */
  id(i: number): number {
    return this.ids[this.check(i)] as number;
  }

  /** The i-th message's payload length in bytes, without making a view. */
  size(i: number): number {
    const k = this.check(i);
    return (this.ends[k] as number) - (this.starts[k] as number);
  }

  /**
   * The i-th message's payload: a view of the received bytes (no copy), made
   * on each call. The bytes are the read's own and are not reused, so the
   * view may be kept after the call.
   */
  payload(i: number): Buffer {
    const k = this.check(i);
    return (this.bufs[k] as Buffer).subarray(this.starts[k], this.ends[k]);
  }

  /** Copies the i-th payload into `target` at `targetStart` without making a view; returns the bytes copied (as Buffer#copy). */
  copyPayload(i: number, target: Uint8Array, targetStart = 0): number {
    const k = this.check(i);
    return (this.bufs[k] as Buffer).copy(target, targetStart, this.starts[k], this.ends[k]);
  }

  /** @internal Adds a message whose payload is `buf[start, end)`. */
  add(id: number, buf: Buffer, start: number, end: number): void {
    const k = this.count;
    if (k === this.ids.length) this.grow();
    this.bufs[k] = buf;
    this.starts[k] = start;
    this.ends[k] = end;
    this.ids[k] = id;
    this.count = k + 1;
  }

  /** @internal Empties it, letting go of the read buffers it referred to. */
  clear(): void {
    this.bufs.fill(undefined, 0, this.count);
    this.count = 0;
    this.owner = undefined;
  }

  private check(i: number): number {
    if (!(i >= 0 && i < this.count && Number.isInteger(i))) {
      throw new RangeError(`message index ${String(i)} is outside this batch of ${this.count} (a batch is read during its 'messages' call only)`);
    }
    return i;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    const ids = new Float64Array(n);
    starts.set(this.starts);
    ends.set(this.ends);
    ids.set(this.ids);
    this.starts = starts;
    this.ends = ends;
    this.ids = ids;
    this.bufs.length = n;
    this.bufs.fill(undefined, n / 2);
  }
}
