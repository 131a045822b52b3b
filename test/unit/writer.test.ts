import { Writable } from 'node:stream';
import { FrameWriter } from '../../src/writer';

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

  it('writes large payloads as parts without copying them', async () => {
    const sink = new CountingSink();
    const w = new FrameWriter(sink);
    const body = Buffer.alloc(64 * 1024, 1);
    w.writeParts(Buffer.from('head'), body);
    await new Promise((r) => process.nextTick(r));
    expect(sink.chunks.some((c) => c === body || c.buffer === body.buffer)).toBe(true);
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
