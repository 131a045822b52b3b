/**
 * Incremental frame decoder. Chunks are kept as a list and each frame's bytes
 * are copied at most once (zero times when a frame lies inside one chunk), so
 * the cost is linear in the bytes received however the stream is split — it
 * never re-concatenates the pending buffer per chunk.
 *
 * The length prefix is checked against `maxFrameBytes` as soon as its four
 * bytes are in: an oversize frame throws before anything is allocated for it.
 */
import { sdkError } from '../core/errors';
import { FRAME_TYPE_NAMES, Frame, FrameType } from './frames';

const EMPTY = Buffer.alloc(0);

export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Index of the first unread chunk (consumed chunks are dropped in batches). */
  private ci = 0;
  /** Read offset into chunks[ci]. */
  private head = 0;
  private buffered = 0;
  /** Length field of the frame being assembled, or -1 when not yet read. */
  private pendingLength = -1;

  /** @param maxFrameBytes bound on a frame's length field (type + payload); may be changed between pushes. */
  constructor(public maxFrameBytes: number) {}

  /** Bytes received but not yet decoded into a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while part of a frame has arrived but not all of it. */
  get midFrame(): boolean {
    // The length prefix alone (already consumed into pendingLength) counts too.
    return this.buffered > 0 || this.pendingLength >= 0;
  }

  /**
   * Adds a chunk and returns the frames it completes. Throws a ResilientError
   * (ERR_FRAME_TOO_LARGE or ERR_PROTOCOL) on bad input; the decoder is then
   * unusable and the connection must be dropped.
   */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    this.pushEach(chunk, (type, body) => {
      frames.push({ type, payload: body.subarray(1) });
    });
    return frames;
  }

  /**
   * Adds a chunk and hands each completed frame to `onFrame` as it is decoded
   * (no Frame objects, no array): `body` is the type byte followed by the
   * payload. A frame limit changed inside `onFrame` applies to the next frame.
   * Return `false` from `onFrame` to stop (the rest stays buffered). Throws
   * like push().
   */
  pushEach(chunk: Buffer, onFrame: (type: FrameType, body: Buffer) => boolean | void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.pendingLength < 0) {
        if (this.buffered < 4) break;
        const len = this.readU32();
        if (len > this.maxFrameBytes) {
          this.reset();
          throw sdkError('ERR_FRAME_TOO_LARGE', `frame of ${len} bytes exceeds maxFrameBytes (${this.maxFrameBytes})`);
        }
        if (len === 0) {
          this.reset();
          throw sdkError('ERR_PROTOCOL', 'frame length 0: a frame holds at least its type byte');
        }
        this.pendingLength = len;
      }
      if (this.buffered < this.pendingLength) break;
      const body = this.take(this.pendingLength);
      this.pendingLength = -1;
      const type = body[0] as number;
      if (FRAME_TYPE_NAMES[type] === undefined) {
        this.reset();
        throw sdkError('ERR_PROTOCOL', `unknown frame type ${type}`);
      }
      if (onFrame(type as FrameType, body) === false) return;
    }
  }

  /** Drops everything buffered. */
  reset(): void {
    this.chunks = [];
    this.ci = 0;
    this.head = 0;
    this.buffered = 0;
    this.pendingLength = -1;
  }

  private readU32(): number {
    const first = this.chunks[this.ci] as Buffer;
    if (first.length - this.head >= 4) {
      const v = first.readUInt32BE(this.head);
      this.consume(4);
      return v;
    }
    const b = this.take(4);
    return b.readUInt32BE(0);
  }

  /** Removes n bytes from the front; copies only when they span chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[this.ci] as Buffer;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.ci] as Buffer;
      const avail = c.length - this.head;
      const part = Math.min(avail, n - filled);
      c.copy(out, filled, this.head, this.head + part);
      filled += part;
      this.consume(part);
    }
    return out;
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
    const first = this.chunks[this.ci] as Buffer;
    if (this.head === first.length) {
      this.chunks[this.ci] = EMPTY;
      this.ci++;
      this.head = 0;
      if (this.ci === this.chunks.length) {
        this.chunks = [];
        this.ci = 0;
      } else if (this.ci >= 1024) {
        // Drop consumed slots in one batch: O(1) amortised per chunk.
        this.chunks = this.chunks.slice(this.ci);
        this.ci = 0;
      }
    }
  }
}
