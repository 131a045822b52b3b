/**
 * Incremental frame decoder, used by both ends of the native protocol.
 *
 * A frame that lies inside one chunk is handed out as a view of that chunk
 * (no copy). A frame that spans chunks is assembled in one PartialBuffer that
 * doubles as its bytes arrive, up to its declared length: memory held for a
 * partial frame is at most max(64 B, 2 × the bytes received) plus the
 * decoder's own few objects, however the stream is cut, and a length prefix
 * alone allocates nothing (src/protocol/partial-buffer.ts, measured in
 * test/fuzz/partial-frame-memory.test.ts). Chunks themselves are never kept,
 * so a 64 KiB read is not pinned by the few bytes of a frame it started.
 *
 * The length prefix is checked against `maxFrameBytes` as soon as its four
 * bytes are in: an oversize frame throws before anything is allocated for it.
 */
import { sdkError } from '../core/errors';
import { Frame, FrameType, isFrameType, u32At } from './frames';
import { PartialBuffer } from './partial-buffer';

const LENGTH_BYTES = 4;
/** FrameDecoder.length while no byte of the next frame's length prefix is in. */
const NO_LENGTH = -1;

/**
 * Takes one decoded frame: its body (the type byte, then the payload) is
 * `buf[start, end)`. For a frame that lay inside one chunk `buf` is that
 * chunk, so no view is made for a frame its handler does not need one of;
 * for one assembled across chunks it is the assembled body. Return `false`
 * to stop decoding.
 */
export type FrameHandler<T = unknown> = (this: T, type: FrameType, buf: Buffer, start: number, end: number) => boolean | void;

/**
 * The body of every decoder that has not yet had a frame cut across chunks: empty and never appended to (the
 * decoder makes its own first), so an idle connection holds no PartialBuffer (40 B, bench/heap-per-client.ts).
 */
const NO_BODY = new PartialBuffer();

/** Turns a byte stream into frames, whatever its cuts; one per connection. */
export class FrameDecoder {
  /**
   * Length field of the frame being assembled; NO_LENGTH while no byte of it is in; below that, a length prefix cut
   * across chunks: -2 - (its value so far × 4 + its bytes read, 1–3). One field, not three (16 B per connection,
   * bench/heap-per-client.ts): the value of 3 bytes is below 2^24, so the code stays a small integer V8 keeps in place.
   */
  private length = NO_LENGTH;
  /** The spanning frame's body (type byte, then payload) received so far. */
  private body = NO_BODY;
  /** What was left of a chunk when onFrame stopped decoding; decoded first on the next push. */
  private rest: Buffer | undefined;

  /** @param maxFrameBytes bound on a frame's length field (type + payload); may be changed between pushes. */
  constructor(public maxFrameBytes: number) {}

  /** Bytes received but not yet decoded into a frame (a complete length prefix is not counted). */
  get bufferedBytes(): number {
    const headerRead = this.length < NO_LENGTH ? (-2 - this.length) & 3 : 0;
    return headerRead + this.body.length + (this.rest?.length ?? 0);
  }

  /** True while part of a frame has arrived but not all of it. */
  get midFrame(): boolean {
    // The length prefix alone counts too.
    return this.length >= 0 || this.bufferedBytes > 0;
  }

  /**
   * Adds a chunk and returns the frames it completes. Throws a ResilientError
   * (ERR_FRAME_TOO_LARGE or ERR_PROTOCOL) on bad input; the decoder is then
   * unusable and the connection must be dropped.
   */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    this.pushEach(chunk, (type, buf, start, end) => {
      frames.push({ type, payload: buf.subarray(start + 1, end) });
    });
    return frames;
  }

  /**
   * Adds a chunk and hands each completed frame to `onFrame` as it is decoded
   * (no Frame objects, no array, no view: see FrameHandler). A frame limit
   * changed inside `onFrame` applies to the next frame. Return `false` from
   * `onFrame` to stop (the rest stays buffered). Throws like push().
   * `self` is `this` in `onFrame`: a prototype method serves every decoder's
   * owner with no closure per connection (protocol/peer.ts).
   * Returns how many frames it completed.
   */
  pushEach<T>(chunk: Buffer, onFrame: FrameHandler<T>, self?: T): number {
    if (this.rest !== undefined) {
      chunk = chunk.length === 0 ? this.rest : Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    const end = chunk.length;
    let pos = 0;
    let frames = 0;
    while (pos < end) {
      if (this.length < 0) {
        if (this.length === NO_LENGTH && end - pos >= LENGTH_BYTES) {
          this.setLength(u32At(chunk, pos));
          pos += LENGTH_BYTES;
        } else {
          pos = this.readSplitLength(chunk, pos);
          if (this.length < 0) return frames;
        }
      }
      const len = this.length;
      let buf: Buffer;
      let start: number;
      if (this.body.length === 0 && end - pos >= len) {
        // The fast path: the frame lies in this chunk; handed out in place, no copy, no view.
        buf = chunk;
        start = pos;
        pos += len;
      } else {
        const n = Math.min(len - this.body.length, end - pos);
        if (this.body === NO_BODY) this.body = new PartialBuffer();
        this.body.append(chunk, pos, pos + n, len);
        pos += n;
        if (this.body.length < len) return frames;
        buf = this.body.take();
        start = 0;
      }
      this.length = NO_LENGTH;
      const type = buf[start] as number;
      if (!isFrameType(type)) {
        this.reset();
        throw sdkError('ERR_PROTOCOL', `unknown frame type ${type}`);
      }
      frames++;
      if (onFrame.call(self as T, type, buf, start, start + len) === false) {
        if (pos < end) this.rest = chunk.subarray(pos);
        return frames;
      }
    }
    return frames;
  }

  /** Drops everything buffered. */
  reset(): void {
    this.length = NO_LENGTH;
    this.body.clear();
    this.rest = undefined;
  }

  /** Reads length bytes one at a time (a prefix cut across chunks); returns the new position. */
  private readSplitLength(chunk: Buffer, pos: number): number {
    const code = this.length < NO_LENGTH ? -2 - this.length : 0;
    let read = code & 3;
    let value = code >>> 2;
    while (read < LENGTH_BYTES && pos < chunk.length) {
      value = value * 256 + (chunk[pos++] as number);
      read++;
    }
    if (read === LENGTH_BYTES) {
      this.length = NO_LENGTH;
      this.setLength(value);
    } else {
      this.length = -2 - (value * 4 + read);
    }
    return pos;
  }

  private setLength(len: number): void {
    if (len > this.maxFrameBytes) {
      this.reset();
      throw sdkError('ERR_FRAME_TOO_LARGE', `frame of ${len} bytes exceeds maxFrameBytes (${this.maxFrameBytes})`);
    }
    if (len === 0) {
      this.reset();
      throw sdkError('ERR_PROTOCOL', 'frame length 0: a frame holds at least its type byte');
    }
    this.length = len;
  }
}
