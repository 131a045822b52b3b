/**
 * Coalescing frame writer: frames written in the same tick leave in one
 * socket.write(): one syscall and one libuv write request per batch instead of
 * per frame (docs/benchmarks.md, throughput rows). It reports backpressure so callers stop pulling from
 * their queues until 'drain'.
 *
 * Small frames are encoded straight into a slab (no Buffer per frame, no
 * second copy to concatenate them); a large payload is not copied at all: it
 * goes out as its own entry of a vectored write, after its header.
 *
 * The slab is shared by every writer in the process, like Node's own Buffer
 * pool: a batch takes the next free bytes of it and hands them to the socket
 * as a view, and a flushed part is never written again. A writer holds no
 * slab between batches, so an idle connection costs none (one 256 KiB slab
 * per connection reserved 500 MiB for 2,000 silent server connections); a
 * full slab is replaced, and freed once the last socket holding a view of it
 * has written that view. See docs/decisions.md, "Write slab".
 */
import type { Writable } from 'node:stream';
import { COPY_PAYLOAD_BELOW, DATA_HEADER_BYTES, writeDataHeader } from '../protocol/frames';

/** Flush at once past this many pending bytes rather than build a huge batch. */
const FLUSH_AT_BYTES = 256 * 1024;
/** A batch that reaches the end of the slab with this much pending is flushed there (reserve()). */
const FLUSH_EARLY_BYTES = 64 * 1024;
/** Size of one slab: a batch of small frames fits in it. */
const SLAB_BYTES = 256 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * FrameWriter.state, one small integer (no field per boolean; 8 B a field per
 * connection, both ends): its low bits say what is scheduled (nothing, a
 * process.nextTick flush, or held until release()), CLOSED that writes are ignored.
 */
const NONE = 0;
const TICK = 1;
const HELD = 2;
const SCHEDULED = 3;
const CLOSED = 4;
/** `parts` and `flushCallbacks` while empty: one frozen array for every writer, so an idle connection holds none of its own. */
const NO_PARTS = Object.freeze([]) as unknown as Buffer[];
const NO_CALLBACKS = Object.freeze([]) as unknown as Array<() => void>;

/** The process's current slab and how much of it has been handed out. */
const shared = { slab: EMPTY, used: 0 };
/** Above this many bytes buffered (ours + the socket's) the writer is blocked. */
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;

export class FrameWriter {
  /** The slab of the current batch's open segment [start, used); EMPTY between batches. */
  private slab = EMPTY;
  private start = 0;
  private used = 0;
  /** Finished parts of the current batch, in order (slab segments and large payloads). */
  private parts: Buffer[] = NO_PARTS;
  private pendingBytes = 0;
  /** What is scheduled (state & SCHEDULED: NONE, TICK or HELD) and CLOSED. */
  private state = NONE;
  private flushCallbacks: Array<() => void> = NO_CALLBACKS;
  /** Bytes handed to the socket in total. */
  bytesWritten = 0;
  /**
   * Above this many bytes buffered the writer is blocked: the prototype's
   * DEFAULT_HIGH_WATER_BYTES (declared below the class), an own field only
   * for a writer given another (no field per connection for the default).
   */
  declare private readonly highWaterBytes: number;

  constructor(
    private readonly stream: Writable,
    highWaterBytes = DEFAULT_HIGH_WATER_BYTES,
  ) {
    if (highWaterBytes !== DEFAULT_HIGH_WATER_BYTES) (this as unknown as { highWaterBytes: number }).highWaterBytes = highWaterBytes;
  }

  /** Queues an encoded frame for this tick's write. */
  write(frame: Buffer): void {
    if (this.state & CLOSED) return;
    if (frame.length >= COPY_PAYLOAD_BELOW) {
      this.cut();
      this.addPart(frame);
    } else {
      this.reserve(frame.length);
      this.slab.set(frame, this.used);
      this.advance(frame.length);
    }
    this.added(frame.length);
  }

  /** Queues a DATA frame, encoding it in place; a large payload is written without a copy. */
  writeData(id: number, payload: Buffer): void {
    if (this.state & CLOSED) return;
    const large = payload.length >= COPY_PAYLOAD_BELOW;
    this.reserve(large ? DATA_HEADER_BYTES : DATA_HEADER_BYTES + payload.length);
    writeDataHeader(this.slab, this.used, id, payload.length);
    this.advance(DATA_HEADER_BYTES);
    if (large) {
      this.cut();
      this.addPart(payload);
    } else {
      // TypedArray set, not Buffer#copy: no argument checks per message.
      this.slab.set(payload, this.used);
      this.advance(payload.length);
    }
    this.added(DATA_HEADER_BYTES + payload.length);
  }

  /** True while the caller should wait for the stream's 'drain'. */
  get blocked(): boolean {
    return this.room <= 0;
  }

  /** Bytes the writer takes before it is blocked (0 or less: blocked). */
  get room(): number {
    return this.highWaterBytes - this.pendingBytes - this.stream.writableLength;
  }

  /**
   * Runs `fn` once everything written so far has been handed to the kernel;
   * never if the stream fails first.
   */
  afterFlush(fn: () => void): void {
    if (this.state & CLOSED) return;
    if (this.flushCallbacks === NO_CALLBACKS) this.flushCallbacks = [fn];
    else this.flushCallbacks.push(fn);
    this.schedule();
  }

  /**
   * Starts a batch the caller ends itself, in the same call stack, with
   * release(): writes until then queue no process.nextTick. The server holds
   * its writer while it handles one socket read, so the PONG to a lone PING
   * is one socket.write() with no tick (docs/decisions.md, "Writer held per read").
   * Does nothing while a tick is already queued (that tick flushes).
   */
  hold(): void {
    if (this.state === NONE) this.state = HELD;
  }

  /** Ends a hold(): writes what was queued since, now. */
  release(): void {
    if (this.state !== HELD) return;
    this.state = NONE;
    if (this.pendingBytes > 0 || this.flushCallbacks !== NO_CALLBACKS) this.flush();
  }

  /** Writes everything pending now. */
  flush(): void {
    if (this.state & CLOSED) return;
    if (this.parts === NO_PARTS && this.flushCallbacks === NO_CALLBACKS && this.used > this.start) {
      // The usual lone batch: one slab segment, written with no parts array.
      const part = this.slab.subarray(this.start, this.used);
      const bytes = this.pendingBytes;
      this.letGoOfSlab();
      this.pendingBytes = 0;
      const s = this.stream;
      if (s.destroyed || !s.writable) return;
      this.bytesWritten += bytes;
      s.write(part);
      return;
    }
    this.cut();
    this.letGoOfSlab();
    const parts = this.parts;
    const bytes = this.pendingBytes;
    const cbs = this.flushCallbacks;
    this.parts = NO_PARTS;
    this.pendingBytes = 0;
    this.flushCallbacks = NO_CALLBACKS;
    const s = this.stream;
    if (s.destroyed || !s.writable) return;
    this.bytesWritten += bytes;
    const done = cbs.length === 0 ? undefined : (err?: Error | null) => !err && cbs.forEach((f) => f());
    if (parts.length === 0) {
      if (done) s.write(EMPTY, done);
    } else if (parts.length === 1) {
      s.write(parts[0] as Buffer, done);
    } else {
      // Slab segments and large payloads as one vectored write, nothing copied.
      s.cork();
      for (let i = 0; i < parts.length - 1; i++) s.write(parts[i] as Buffer);
      s.write(parts[parts.length - 1] as Buffer, done);
      s.uncork();
    }
  }

  /** Drops what is pending; later writes are ignored. */
  close(): void {
    this.state |= CLOSED;
    this.parts = NO_PARTS;
    this.pendingBytes = 0;
    this.flushCallbacks = NO_CALLBACKS;
    this.letGoOfSlab();
  }

  /** Appends a part of the batch: its array is made by the first part. */
  private addPart(part: Buffer): void {
    if (this.parts === NO_PARTS) this.parts = [part];
    else this.parts.push(part);
  }

  /** Ends the current slab segment as a part of the batch. */
  private cut(): void {
    if (this.used > this.start) {
      this.addPart(this.slab.subarray(this.start, this.used));
      this.start = this.used;
    }
  }

  /**
   * Makes room for `n` contiguous bytes at the end of this batch's segment.
   * The segment goes on only while nobody else took bytes of the slab after
   * it; otherwise it is cut and a new one starts where the free bytes are
   * (in a new slab if the current one is full).
   */
  private reserve(n: number): void {
    if (this.slab === shared.slab && this.used === shared.used && this.slab.length - this.used >= n) return;
    this.cut();
    if (shared.slab.length - shared.used < n) {
      // A batch already large goes out now rather than continue in a new slab:
      // one buffer per write instead of a vectored write of two, and the next
      // batch starts at the new slab's first byte (a lone writer then fills whole slabs).
      if (this.pendingBytes >= FLUSH_EARLY_BYTES) this.flush();
      shared.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, n));
      shared.used = 0;
    }
    this.slab = shared.slab;
    this.start = this.used = shared.used;
  }

  /** Takes `n` reserved bytes into the segment. */
  private advance(n: number): void {
    this.used += n;
    shared.used = this.used;
  }

  /** Between batches a writer keeps no reference to a slab: an idle connection pins none. */
  private letGoOfSlab(): void {
    this.slab = EMPTY;
    this.start = this.used = 0;
  }

  private added(n: number): void {
    this.pendingBytes += n;
    if (this.pendingBytes >= FLUSH_AT_BYTES) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.state !== NONE) return;
    this.state = TICK;
    process.nextTick(flushTick, this);
  }

  /** @internal The scheduled flush (flushTick below): a method, not a closure per writer. */
  flushScheduled(): void {
    this.state &= ~SCHEDULED;
    this.flush();
  }
}

// The default every writer shares (see the field's declaration).
(FrameWriter.prototype as unknown as { highWaterBytes: number }).highWaterBytes = DEFAULT_HIGH_WATER_BYTES;

/** One function for every writer's scheduled flush: process.nextTick passes the writer. */
function flushTick(w: FrameWriter): void {
  w.flushScheduled();
}
