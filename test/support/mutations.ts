/**
 * Mutations of a frame stream, shared by the two fuzz suites
 * (test/fuzz/decoder.fuzz.test.ts, test/fuzz/server.fuzz.test.ts): bit flips,
 * truncation, inserted and deleted bytes, and forged length or type fields
 * aimed at real frame boundaries.
 */
import fc from 'fast-check';

/** A stream of frames and the offset of each frame's length field. */
export interface Stream {
  bytes: Buffer;
  starts: number[];
}

/** Concatenates frames, remembering where each starts. */
export function streamOf(frames: Buffer[]): Stream {
  const starts: number[] = [];
  let at = 0;
  for (const f of frames) {
    starts.push(at);
    at += f.length;
  }
  return { bytes: Buffer.concat(frames), starts };
}

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'length'; frame: number; value: number }
  | { kind: 'type'; frame: number; value: number };

/** Mutations; a forged length is one of `forged` (the values a forger would try) or any u32. */
export function mutationsOf(forged: number[]): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('length' as const), frame: fc.nat(), value: fc.oneof(fc.constantFrom(...forged), fc.integer({ min: 0, max: 0xffffffff })) }),
    fc.record({ kind: fc.constant('type' as const), frame: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  );
}

/** Applies the mutations in order; positions are reduced modulo the current length. */
export function mutate(s: Stream, mutations: Mutation[]): Buffer {
  let b = Buffer.from(s.bytes);
  for (const m of mutations) {
    const pos = (n: number, extra = 0): number => n % (b.length + extra || 1);
    if (m.kind === 'flip' && b.length > 0) b[pos(m.at)] = (b[pos(m.at)] as number) ^ (1 << m.bit);
    else if (m.kind === 'truncate') b = b.subarray(0, pos(m.at, 1));
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, pos(m.at, 1)), m.bytes, b.subarray(pos(m.at, 1))]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, pos(m.at)), b.subarray(pos(m.at) + m.count)]);
    else if ((m.kind === 'length' || m.kind === 'type') && s.starts.length > 0) {
      // Aimed at a real frame boundary (of the unmutated stream; earlier edits may shift it, which is fine too).
      const start = s.starts[m.frame % s.starts.length] as number;
      if (m.kind === 'length' && start + 4 <= b.length) b.writeUInt32BE(m.value, start);
      if (m.kind === 'type' && start + 4 < b.length) b[start + 4] = m.value;
    }
  }
  return b;
}
