import { Writable } from 'node:stream';
import { DEFAULT_HIGH_WATER_BYTES, FrameWriter } from '../../src/io/writer';
import { FrameDecoder } from '../../src/protocol/decoder';
import { encodeData, readId } from '../../src/protocol/frames';
import { gc, memoryAfterGc } from '../support/gc';

class CountingSink extends Writable {
  writes = 0;
  chunks: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 1 << 30 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes++;
    this.chunks.push(chunk);
    cb();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void {
    this.writes++;
    for (const c of chunks) this.chunks.push(c.chunk);
    cb();
  }
}

/** A sink that keeps nothing: what it was handed can be collected once written. */
class DroppingSink extends Writable {
  constructor(private readonly seen: (chunk: Buffer) => void = () => {}) {
    super({ highWaterMark: 1 << 30 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.seen(chunk);
    cb();
  }
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('FrameWriter', () => {
  it('coalesces frames written in one tick into one write, in order', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    for (let i = 0; i < 1000; i++) w.write(Buffer.from([i & 0xff]));
    expect(sink.writes).toBe(0);
    await new Promise((r) => process.nextTick(r));
    expect(sink.writes).toBe(1);
    expect(Buffer.concat(sink.chunks)).toEqual(Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff)));
  });

  it('hold() … release(): the frames written between leave in one write at release, with no tick', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    w.hold();
    w.write(Buffer.from([1, 2]));
    w.writeData(5, Buffer.from('hi'));
    expect(sink.writes).toBe(0);
    w.release();
    expect(sink.writes).toBe(1);
    expect(Buffer.concat(sink.chunks)).toEqual(Buffer.concat([Buffer.from([1, 2]), encodeData(5, Buffer.from('hi'))]));
    await tick();
    expect(sink.writes).toBe(1);
    // Released, the writer schedules its tick again.
    w.write(Buffer.from([3]));
    expect(sink.writes).toBe(1);
    await tick();
    expect(sink.writes).toBe(2);
  });

  it('hold() with a tick already queued leaves the flush to that tick; release() with nothing held does nothing', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    w.write(Buffer.from([1]));
    w.hold();
    w.write(Buffer.from([2]));
    w.release();
    expect(sink.writes).toBe(0);
    await tick();
    expect(sink.writes).toBe(1);
    expect(Buffer.concat(sink.chunks)).toEqual(Buffer.from([1, 2]));
  });

  it('flushes early past 256 KiB rather than build one huge buffer', () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    for (let i = 0; i < 5; i++) w.write(Buffer.alloc(100 * 1024));
    expect(sink.writes).toBe(1); // the first 300 KiB went out at once
  });

  it('writes large payloads as their own parts, without copying them (also exactly 4 KiB)', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    const body = Buffer.alloc(4096, 1);
    w.writeData(7, body);
    w.writeData(8, Buffer.from('small'));
    await new Promise((r) => process.nextTick(r));
    expect(sink.chunks.some((c) => c === body)).toBe(true);
    const stream = Buffer.concat(sink.chunks);
    const d = new FrameDecoder(1 << 20);
    const frames = d.push(stream);
    expect(frames.map((f) => [readId(f.payload), f.payload.length - 8])).toEqual([[7, 4096], [8, 5]]);
  });

  it('encodes small DATA frames into one slab: one write, the same bytes as encodeData', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    const expected: Buffer[] = [];
    for (let i = 1; i <= 5000; i++) {
      const p = Buffer.from(`m${i}`);
      w.writeData(i, p);
      expected.push(encodeData(i, p));
    }
    await new Promise((r) => process.nextTick(r));
    expect(Buffer.concat(sink.chunks).equals(Buffer.concat(expected))).toBe(true);
    expect(sink.writes).toBeLessThanOrEqual(2);
  });

  it('reports backpressure above the high-water mark', () => {
    const sink = new Writable({ highWaterMark: 1, write: (_c, _e, _cb) => undefined }); // never drains
    const w = new FrameWriter(sink, 1000);
    expect(w.blocked).toBe(false);
    expect(w.room).toBe(1000);
    w.write(Buffer.alloc(600));
    w.flush();
    expect(w.room).toBe(400);
    w.write(Buffer.alloc(600));
    expect(w.blocked).toBe(true);
    expect(w.room).toBe(-200);
  });

  it('a writer of the default high-water mark keeps no field for it; one given another keeps its own', () => {
    const sink = new Writable({ highWaterMark: 1, write: (_c, _e, _cb) => undefined }); // never drains
    const plain = new FrameWriter(sink);
    expect(Object.hasOwn(plain, 'highWaterBytes')).toBe(false);
    expect(plain.room).toBe(DEFAULT_HIGH_WATER_BYTES);
    const small = new FrameWriter(sink, 1000);
    expect(Object.hasOwn(small, 'highWaterBytes')).toBe(true);
    expect(small.room).toBe(1000);
    expect(plain.room).toBe(DEFAULT_HIGH_WATER_BYTES);
  });

  it('close() while a flush tick is queued or a batch is held: nothing pending is written, later writes are ignored', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    w.write(Buffer.from([0, 0, 0, 1, 3]));
    w.close();
    await tick();
    const held = new FrameWriter(sink);
    held.hold();
    held.write(Buffer.from([0, 0, 0, 1, 3]));
    held.close();
    held.release();
    held.hold();
    held.write(Buffer.from([0, 0, 0, 1, 3]));
    held.release();
    w.write(Buffer.from([0, 0, 0, 1, 3]));
    w.flush();
    await tick();
    expect(sink.writes).toBe(0);
    // An open writer beside them still writes (the closed ones took no slab bytes it would resend).
    const open = new FrameWriter(sink);
    open.write(Buffer.from([0, 0, 0, 1, 4]));
    await tick();
    expect(Buffer.concat(sink.chunks)).toEqual(Buffer.from([0, 0, 0, 1, 4]));
  });

  it('a writer allocates nothing until it writes: 200 idle writers cost no slab', () => {
    const before = memoryAfterGc().arrayBuffers;
    const writers = Array.from({ length: 200 }, () => new FrameWriter(new DroppingSink()));
    const grown = memoryAfterGc().arrayBuffers - before;
    expect(writers).toHaveLength(200);
    // One 256 KiB slab each was 50 MiB here.
    expect(grown).toBeLessThan(256 * 1024);
  });

  it('writers that write in the same tick share one slab', async () => {
    const buffers = new Set<ArrayBufferLike>();
    const writers = Array.from({ length: 200 }, () => new FrameWriter(new DroppingSink((c) => buffers.add(c.buffer))));
    writers.forEach((w, i) => w.writeData(i, Buffer.from('ping')));
    await tick();
    // At most two: the slab in use may fill up part way through.
    expect(buffers.size).toBeLessThanOrEqual(2);
  });

  it('a writer sending batch after batch reuses the slab (no allocation per batch)', async () => {
    const buffers = new Set<ArrayBufferLike>();
    const w = new FrameWriter(new DroppingSink((c) => buffers.add(c.buffer)));
    let bytes = 0;
    for (let batch = 0; batch < 1000; batch++) {
      for (let i = 0; i < 10; i++) {
        const p = Buffer.from(`b${batch}m${i}`);
        w.writeData(batch * 10 + i, p);
        bytes += 13 + p.length;
      }
      await tick();
    }
    expect(buffers.size).toBeLessThanOrEqual(Math.ceil(bytes / (256 * 1024)) + 1);
  });

  it('a long synchronous run of small DATA frames leaves in one buffer per write, never split across two slabs', () => {
    const parts: number[] = [];
    const sink = new CountingSink();
    const writev = sink._writev.bind(sink);
    sink._writev = (chunks, cb) => {
      parts.push(chunks.length);
      writev(chunks, cb);
    };
    const w = new FrameWriter(sink);
    const payload = Buffer.alloc(64, 0x61);
    // 2 MiB of 77-byte frames: flushes at every slab's end (or at 256 KiB), never a writev of two slab parts.
    for (let id = 1; id <= 28_000; id++) w.writeData(id, payload);
    w.flush();
    expect(parts).toEqual([]);
    const ids = new FrameDecoder(1 << 20).push(Buffer.concat(sink.chunks)).map((f) => readId(f.payload));
    expect(ids).toEqual(Array.from({ length: 28_000 }, (_, i) => i + 1));
  });

  it('an idle writer keeps no slab alive once its batch is written', async () => {
    let slab: WeakRef<ArrayBufferLike> | undefined;
    const idle = new FrameWriter(new DroppingSink((c) => (slab ??= new WeakRef(c.buffer))));
    idle.write(Buffer.from([0, 0, 0, 1, 3]));
    await tick();
    expect(slab).toBeDefined();
    // Other traffic fills the process's slab, so a new one replaces it.
    const busy = new FrameWriter(new DroppingSink());
    for (let i = 0; i < 300; i++) busy.write(Buffer.alloc(1024));
    await tick();
    await new Promise((r) => setImmediate(r)); // WeakRefs made in a job are kept until it ends
    gc();
    expect(slab?.deref()).toBeUndefined();
    expect(idle).toBeDefined(); // the idle writer is alive, and holds nothing
  });
});
