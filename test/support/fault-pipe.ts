/**
 * One direction of a proxied connection: reads from `src`, applies the faults
 * currently set for its direction, and writes to `dst`. Used by FaultProxy
 * (fault-proxy.ts); pure Node, no SDK imports.
 *
 * Every chunk that has to wait (latency, slicing, bandwidth) goes through one
 * ordered queue of pieces with a delivery time. A piece is never scheduled
 * before the one queued ahead of it, so jitter cannot reorder the stream.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** 'upstream' = client → server, 'downstream' = server → client. */
export type Direction = 'upstream' | 'downstream';
/** A direction, or 'both'. */
export type DirectionArg = Direction | 'both';
/** Kinds of fault counted in `FaultProxy.stats().faults`. */
export type FaultKind = 'latency' | 'blackhole' | 'reset' | 'slice' | 'limitData' | 'slowClose' | 'bandwidth';

/** Re-cut every chunk into pieces of `minBytes..maxBytes` bytes, `delayMs` apart. */
export interface SlicerOptions {
  minBytes: number;
  maxBytes: number;
  delayMs: number;
}

/** Faults set for one direction; read afresh for every chunk. */
export interface DirectionFaults {
  latencyMs: number;
  jitterMs: number;
  blackhole: boolean;
  slicer: SlicerOptions | null;
  bytesPerSecond: number | null;
  /** Byte budget given to connections opened from now on; null = unlimited. */
  limitBytes: number | null;
}

/** A direction with no fault set. */
export function noFaults(): DirectionFaults {
  return { latencyMs: 0, jitterMs: 0, blackhole: false, slicer: null, bytesPerSecond: null, limitBytes: null };
}

/** What a pipe needs from its proxy. */
export interface PipeHost {
  readonly random: () => number;
  readonly slowCloseMs: number;
  faults(dir: Direction): DirectionFaults;
  countForwarded(dir: Direction, bytes: number): void;
  countDropped(dir: Direction, bytes: number): void;
  countFault(kind: FaultKind, dir: Direction): void;
}

/** Bytes queued (in the pipe plus the destination's write buffer) before the source is paused. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** A throttled direction writes at most 1/20 s worth of bytes at once, so the rate stays smooth. */
const BANDWIDTH_SLICES_PER_SECOND = 20;

interface Piece {
  buf: Buffer;
  /** performance.now() time before which the piece must not be written. */
  at: number;
}

export class FaultPipe {
  private queue: Piece[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private lastAt = 0;
  private bandwidthCursor = 0;
  private remaining: number | null;
  private paused = false;
  private cut = false;
  private source: 'open' | 'ended' | 'aborted' = 'open';
  private resetOnAbort = false;
  private closePropagated = false;
  private closeHeld = false;
  private disposed = false;

  constructor(
    readonly dir: Direction,
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly host: PipeHost,
    /** Called once the byte budget is spent and its last byte was handed to the kernel: cut the pair. */
    private readonly limitReached: () => void,
  ) {
    this.remaining = host.faults(dir).limitBytes;
    src.on('data', (chunk: Buffer) => this.onData(chunk));
    src.on('end', () => {
      if (this.source === 'open') this.source = 'ended';
      this.settle();
    });
    dst.on('drain', () => this.relieve());
  }

  /** Gives this connection `bytes` more bytes in this direction before it is cut; null lifts the limit. */
  setLimit(bytes: number | null): void {
    if (this.cut || this.disposed) return;
    this.remaining = bytes;
    if (bytes === 0) this.cutNow(() => this.limitReached());
  }

  /** The source went away without a clean end (error or destroy); `reset` sends RST onwards. */
  sourceAborted(reset: boolean): void {
    if (this.source !== 'open') return;
    this.source = 'aborted';
    this.resetOnAbort = reset;
    this.settle();
  }

  /** Re-reads the faults after the proxy changed them (a black hole may have lifted). */
  faultsChanged(): void {
    this.relieve();
    this.schedule();
    this.settle();
  }

  /** Clears every timer and drops queued bytes; the pipe does nothing afterwards. */
  dispose(): void {
    this.disposed = true;
    this.dropQueue();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = null;
  }

  private onData(chunk: Buffer): void {
    if (this.cut || this.disposed) return;
    const f = this.host.faults(this.dir);
    if (f.blackhole) {
      this.host.countDropped(this.dir, chunk.length);
      this.host.countFault('blackhole', this.dir);
      return;
    }
    const delaying = f.latencyMs > 0 || f.jitterMs > 0 || f.slicer !== null || f.bytesPerSecond !== null;
    if (!delaying && this.queue.length === 0) {
      this.deliver(chunk);
    } else {
      this.enqueue(chunk, f);
      this.schedule();
    }
    this.checkPressure();
  }

  private enqueue(chunk: Buffer, f: DirectionFaults): void {
    let at = performance.now();
    if (f.latencyMs > 0 || f.jitterMs > 0) {
      at += f.latencyMs + this.host.random() * f.jitterMs;
      this.host.countFault('latency', this.dir);
    }
    if (f.slicer) this.host.countFault('slice', this.dir);
    if (f.bytesPerSecond !== null) this.host.countFault('bandwidth', this.dir);
    const pieces = f.slicer ? this.slice(chunk, f.slicer) : [chunk];
    pieces.forEach((piece, i) => {
      if (i > 0 && f.slicer) at += f.slicer.delayMs;
      const bps = f.bytesPerSecond;
      const parts = bps === null ? [piece] : splitEvery(piece, Math.max(1, Math.floor(bps / BANDWIDTH_SLICES_PER_SECOND)));
      for (const part of parts) {
        let t = Math.max(at, this.lastAt);
        if (bps !== null) {
          // A part is delivered once it has been fully "transmitted" at the set rate.
          t = Math.max(t, this.bandwidthCursor) + (part.length * 1000) / bps;
          this.bandwidthCursor = t;
        }
        this.lastAt = t;
        this.queue.push({ buf: part, at: t });
        this.queuedBytes += part.length;
      }
    });
  }

  private slice(chunk: Buffer, s: SlicerOptions): Buffer[] {
    const pieces: Buffer[] = [];
    for (let off = 0; off < chunk.length; ) {
      const size = s.minBytes + Math.floor(this.host.random() * (s.maxBytes - s.minBytes + 1));
      const end = Math.min(chunk.length, off + Math.max(1, size));
      pieces.push(chunk.subarray(off, end));
      off = end;
    }
    return pieces;
  }

  private schedule(): void {
    if (this.timer || this.disposed || this.cut) return;
    const head = this.queue[0];
    if (!head) return;
    const wait = head.at - performance.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, Math.ceil(wait));
  }

  private flush(): void {
    // Timers may fire a little early against performance.now(): re-check, so a
    // piece never leaves before its time (tests assert latency lower bounds).
    const now = performance.now();
    for (let head = this.queue[0]; head && head.at <= now && !this.cut; head = this.queue[0]) {
      this.queue.shift();
      this.queuedBytes -= head.buf.length;
      this.deliver(head.buf);
    }
    this.relieve();
    this.schedule();
    this.settle();
  }

  private deliver(buf: Buffer): void {
    if (this.remaining !== null) {
      if (buf.length >= this.remaining) {
        const last = buf.subarray(0, this.remaining);
        this.remaining = 0;
        this.cutNow(() => this.write(last, () => this.limitReached()));
        return;
      }
      this.remaining -= buf.length;
    }
    this.write(buf);
  }

  private cutNow(then: () => void): void {
    this.cut = true;
    this.dropQueue();
    then();
  }

  private write(buf: Buffer, done?: () => void): void {
    if (this.dst.destroyed || this.dst.writableEnded) {
      this.host.countDropped(this.dir, buf.length);
      done?.();
      return;
    }
    this.host.countForwarded(this.dir, buf.length);
    if (done) this.dst.write(buf, () => done());
    else this.dst.write(buf);
  }

  /** Propagates the source's end (after queued data) or abort, delayed by the slow-close setting. */
  private settle(): void {
    if (this.closePropagated || this.disposed || this.cut || this.source === 'open') return;
    // A black hole swallows FIN and RST too; they pass once it is lifted.
    if (this.host.faults(this.dir).blackhole) {
      if (!this.closeHeld) this.host.countFault('blackhole', this.dir);
      this.closeHeld = true;
      return;
    }
    if (this.source === 'ended' && this.queue.length > 0) return;
    this.closePropagated = true;
    const aborted = this.source === 'aborted';
    if (aborted) this.dropQueue(); // an RST discards what was still in flight
    const propagate = (): void => {
      this.closeTimer = null;
      if (!aborted) this.dst.end();
      else if (this.resetOnAbort) resetSocket(this.dst);
      else this.dst.destroy();
    };
    const ms = this.host.slowCloseMs;
    if (ms > 0) {
      this.host.countFault('slowClose', this.dir);
      this.closeTimer = setTimeout(propagate, ms);
    } else {
      propagate();
    }
  }

  private checkPressure(): void {
    if (this.paused || this.queuedBytes + this.dst.writableLength < HIGH_WATER_BYTES) return;
    this.paused = true;
    this.src.pause();
  }

  private relieve(): void {
    if (!this.paused || this.queuedBytes + this.dst.writableLength >= HIGH_WATER_BYTES / 2) return;
    this.paused = false;
    this.src.resume();
  }

  private dropQueue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/** Destroys a socket with RST when it has a connected TCP handle, else plainly. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy() on a socket whose end() is still pending emits EINVAL and never 'close'.
  if (socket.connecting || socket.pending || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}

function splitEvery(buf: Buffer, size: number): Buffer[] {
  if (buf.length <= size) return [buf];
  const parts: Buffer[] = [];
  for (let off = 0; off < buf.length; off += size) parts.push(buf.subarray(off, off + size));
  return parts;
}
