/**
 * Valid byte streams of frames, and the ways a broken or hostile peer mutates
 * them: bit flips, truncation, inserted and deleted bytes, forged length
 * fields and types. Shared by the decoder and server fuzz suites
 * (test/fuzz/), so both attack with the same moves.
 */
import fc from 'fast-check';

/** A stream of encoded frames and where each frame's length field starts. */
export interface Stream {
  bytes: Buffer;
  starts: number[];
}

/** The frames back to back, with their offsets. */
export function streamOf(frames: Buffer[]): Stream {
  const starts: number[] = [];
  let at = 0;
  for (const f of frames) {
    starts.push(at);
    at += f.length;
  }
  return { bytes: Buffer.concat(frames), starts };
}

/** Length values a forger would try: 0, 1, all ones, "GET " and "POST", the sign bit, and each bound's neighbours. */
export function forgedLengths(...bounds: number[]): number[] {
  const ascii = (s: string): number => Buffer.from(s, 'latin1').readUInt32BE(0);
  const near = bounds.flatMap((b) => [b - 1, b, b + 1, b + 4]);
  return [...new Set([0, 1, 0xffffffff, ascii('GET '), ascii('POST'), 0x7fffffff, 0x80000000, ...near])].filter((n) => n >= 0 && n <= 0xffffffff);
}

/** One edit a broken or hostile peer makes to a stream. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; frame: number; value: number }
  | { kind: 'type'; frame: number; value: number };

/** Any mutation; forged length fields are drawn from `forged` or anywhere in u32. */
export function mutationArb(forged: number[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('length' as const), frame: fc.nat(), value: fc.oneof(fc.constantFrom(...forged), fc.integer({ min: 0, max: 0xffffffff })) }),
    fc.record({ kind: fc.constant('type' as const), frame: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  );
}

/** The stream with the mutations applied in order (positions reduced modulo the current length). */
export function mutate(s: Stream, mutations: Mutation[]): Buffer {
  let b = Buffer.from(s.bytes);
  for (const m of mutations) {
    const pos = (n: number, extra = 0): number => n % (b.length + extra || 1);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[pos(m.at)] = (b[pos(m.at)] as number) ^ (1 << m.bit);
        break;
      case 'truncate':
        b = b.subarray(0, pos(m.at, 1));
        break;
      case 'insert': {
        const at = pos(m.at, 1);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = pos(m.at);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        break;
      }
      case 'length':
      case 'type': {
        // Aimed at a real frame boundary (of the unmutated stream; earlier edits may shift it, which is fine too).
        if (s.starts.length === 0) break;
        const start = s.starts[m.frame % s.starts.length] as number;
        if (m.kind === 'length' && start + 4 <= b.length) b.writeUInt32BE(m.value, start);
        if (m.kind === 'type' && start + 4 < b.length) b[start + 4] = m.value;
        break;
      }
    }
  }
  return b;
}

/** Cut points as naturals, reduced modulo the stream length by splitAt (test/support/split.ts). */
export function cutsArb(maxCuts = 24): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { maxLength: maxCuts });
}
