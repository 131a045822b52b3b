/**
 * The bytes of one partial frame (or line) that arrived across several
 * chunks, held in one buffer that doubles as bytes arrive, up to a limit (the
 * frame's declared length, a line's bound).
 *
 * What it holds is at most max(MIN_PARTIAL_BYTES, 2 × the bytes received)
 * and never more than the limit, however the bytes are cut: keeping each
 * chunk as its own Buffer instead measured ~100–200 bytes of heap per byte
 * when a peer sends one byte per segment (test/fuzz/partial-frame-memory.test.ts).
 * Nothing is allocated for a length that was only declared. Doubling copies
 * each byte at most twice in all (once in, at most once more on average).
 *
 * Buffers come from Buffer.allocUnsafeSlow, not Node's shared 8 KiB pool: a
 * small partial held for a long time must not pin a pool slab beside it.
 */

/** The first buffer's size, for a partial of a few bytes. */
export const MIN_PARTIAL_BYTES = 64;

const EMPTY = Buffer.alloc(0);

/** One partial frame's (or line's) bytes, in one buffer grown by doubling up to a limit. */
export class PartialBuffer {
  private buf: Buffer | undefined;
  /** Bytes held. */
  length = 0;

  /**
   * Appends `src[start, end)`. `limit` caps the buffer's size; it must be at
   * least the length after the append.
   */
  append(src: Buffer, start: number, end: number, limit: number): void {
    const need = this.length + (end - start);
    let buf = this.buf;
    if (buf === undefined || buf.length < need) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, Math.min(limit, Math.max(MIN_PARTIAL_BYTES, 2 * need))));
      if (buf !== undefined) buf.copy(grown, 0, 0, this.length);
      this.buf = buf = grown;
    }
    src.copy(buf, this.length, start, end);
    this.length = need;
  }

  /** The last byte held, or -1 when empty. */
  last(): number {
    return this.buf === undefined || this.length === 0 ? -1 : (this.buf[this.length - 1] as number);
  }

  /** Hands out the bytes held (the buffer itself when full: no copy) and lets go of them. */
  take(): Buffer {
    const buf = this.buf;
    const out = buf === undefined ? EMPTY : buf.length === this.length ? buf : buf.subarray(0, this.length);
    this.clear();
    return out;
  }

  /** Drops the bytes held. */
  clear(): void {
    this.buf = undefined;
    this.length = 0;
  }
}
