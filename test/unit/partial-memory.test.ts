/**
 * Memory held by decoders for input that is not complete yet, measured in
 * this process after a full collection, with each chunk its own ArrayBuffer
 * as a socket delivers it. The FrameDecoder is the one both ends use (here
 * built as the client builds it, with a 1 MiB bound); lineCodec's decoder is
 * the shipped codec's. Both keep one buffer per partial frame or line, grown
 * by doubling (src/protocol/partial-buffer.ts): about 2 bytes held per byte
 * received. Keeping each chunk instead measured ~100–200 bytes per byte.
 */
import { lineCodec } from '../../src/protocol/codec';
import { FrameDecoder } from '../../src/protocol/decoder';
import { DEFAULT_MAX_FRAME_BYTES, FrameType } from '../../src/protocol/frames';
import { memoryAfterGc } from '../support/gc';

const KiB = 1024;
const MiB = 1024 * KiB;
/** At most 2 bytes per byte (doubling); 3 leaves room for the collector's slack. */
const BYTES_PER_BYTE = 3;
/** The decoder's own objects and its first buffer. */
const PER_DECODER = 1 * KiB;
const NOISE = 1 * MiB;
const DECODERS = 64;
const BYTES_EACH = 4 * KiB;

const held = (): number => {
  const m = memoryAfterGc();
  return m.heapUsed + m.arrayBuffers;
};

/** One byte per chunk, each chunk its own ArrayBuffer (as a socket's reads are). */
function* oneBytePerChunk(bytes: Buffer): Generator<Buffer> {
  for (const b of bytes) {
    const chunk = Buffer.allocUnsafeSlow(1);
    chunk[0] = b;
    yield chunk;
  }
}

function expectWithinBound(growth: number, what: string): void {
  const bytes = DECODERS * BYTES_EACH;
  // For the report when it fails: how many bytes held per byte received.
  const perByte = (growth / bytes).toFixed(1);
  expect({ what, perByte, growth: growth <= BYTES_PER_BYTE * bytes + PER_DECODER * DECODERS + NOISE }).toEqual({ what, perByte, growth: true });
}

describe('memory held for partial input, one byte per chunk', () => {
  it(`FrameDecoder (1 MiB bound, as the client builds it): ${DECODERS} partial 1 MiB frames of which ${BYTES_EACH} bytes arrived hold about twice that`, () => {
    const head = Buffer.alloc(5 + BYTES_EACH - 1, 0x20);
    head.writeUInt32BE(DEFAULT_MAX_FRAME_BYTES, 0);
    head[4] = FrameType.DATA;
    const decoders = Array.from({ length: DECODERS }, () => new FrameDecoder(DEFAULT_MAX_FRAME_BYTES));
    const before = held();
    let frames = 0;
    for (const d of decoders) for (const chunk of oneBytePerChunk(head)) d.pushEach(chunk, () => void frames++);
    expect(frames).toBe(0);
    expect(decoders.every((d) => d.midFrame && d.bufferedBytes === BYTES_EACH)).toBe(true);
    expectWithinBound(held() - before, 'FrameDecoder');
  });

  it(`lineCodec decoder: ${DECODERS} partial lines of ${BYTES_EACH} bytes hold about twice that`, () => {
    const line = Buffer.alloc(BYTES_EACH, 0x61);
    const decoders = Array.from({ length: DECODERS }, () => lineCodec().decoder());
    const before = held();
    let lines = 0;
    for (const d of decoders) for (const chunk of oneBytePerChunk(line)) lines += d.push(chunk).length;
    expect(lines).toBe(0);
    expectWithinBound(held() - before, 'lineCodec');
    // Still whole when the line ends.
    expect(decoders[0]?.push(Buffer.from('\n'))).toEqual([line.toString()]);
  });
});
