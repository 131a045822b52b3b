/**
 * The one growing buffer behind the example decoders (examples/redis,
 * examples/mqtt): received bytes are copied into a single Buffer that doubles
 * when full and is compacted before it grows, so a message trickled in one
 * byte at a time costs amortised O(1) per byte, not one Buffer per chunk kept
 * until the message completes. Memory is bounded by what is still unparsed
 * (each decoder bounds that) plus the chunk being added.
 */

/** Capacity a fresh or emptied buffer starts with, in bytes. */
const INITIAL_BYTES = 4096;

export class ByteBuffer {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private start = 0;
  private end = 0;

  /** Bytes received and not yet consumed. */
  get length(): number {
    return this.end - this.start;
  }

  /** The unconsumed bytes (a view, valid until the next append). */
  view(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  append(chunk: Uint8Array): void {
    const len = this.length;
    if (this.end + chunk.length > this.buf.length) {
      const need = len + chunk.length;
      const target = need <= this.buf.length ? this.buf : Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(target, 0, this.start, this.end);
      this.buf = target;
      this.start = 0;
      this.end = len;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Drops `n` bytes from the front; an emptied buffer that grew shrinks back, so one big message is not held forever. */
  consume(n: number): void {
    this.start += n;
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf.length > INITIAL_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
    }
  }
}
