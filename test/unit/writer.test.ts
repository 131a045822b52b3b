import { Writable } from 'node:stream';
import { FrameWriter } from '../../src/io/writer';
import { FrameDecoder } from '../../src/protocol/decoder';
import { encodeData, readId } from '../../src/protocol/frames';

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
    w.write(Buffer.alloc(600));
    w.flush();
    w.write(Buffer.alloc(600));
    expect(w.blocked).toBe(true);
  });
});
