/**
 * Hostile input to the frame decoder and the payload decoders: random bytes,
 * random valid frames, and valid streams mutated the ways a broken or hostile
 * peer mutates them (bit flips, truncation, inserted and deleted bytes,
 * forged length fields), each split at random points.
 *
 * The contract under test: the decoder returns frames or throws a
 * ResilientError with ERR_FRAME_TOO_LARGE or ERR_PROTOCOL, never anything
 * else; it never holds or allocates more than its bound, nor a buffer more
 * than twice the bytes that arrived (a declared length alone allocates
 * nothing); and the outcome
 * (frames, then the error if any) does not depend on how the stream is split.
 */
import fc from 'fast-check';
import { ResilientError } from '../../src/core/errors';
import { FrameDecoder } from '../../src/protocol/decoder';
import { MIN_PARTIAL_BYTES } from '../../src/protocol/partial-buffer';
import {
  Frame,
  FrameType,
  MAX_HANDSHAKE_FRAME_BYTES,
  PROTOCOL_VERSION,
  decodeErrorPayload,
  decodeHello,
  decodePing,
  decodeWelcome,
  encodeAck,
  encodeData,
  encodeFrame,
  encodeJson,
  encodePing,
  readId,
} from '../../src/protocol/frames';
import { forgedLengths, mutate, mutationArb, streamOf, type Mutation, type Stream, cutsArb } from '../support/mutations';
import { splitAt } from '../support/split';
import { segments } from '../support/trickle';

const DECODER_CODES = ['ERR_FRAME_TOO_LARGE', 'ERR_PROTOCOL'];
const FRAME_TYPES = new Set<number>(Object.values(FrameType));

// ---------------------------------------------------------------------------
// Generators

/** One encoded frame; payloads reach right up to the bound so both sides of it are hit. */
function frameArb(maxFrameBytes: number): fc.Arbitrary<Buffer> {
  const maxPayload = Math.max(0, maxFrameBytes - 1);
  const typeArb = fc.constantFrom(...Object.values(FrameType));
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(typeArb, fc.uint8Array({ maxLength: Math.min(maxPayload, 200) })).map(([t, p]) => encodeFrame(t, p)) },
    { weight: 1, arbitrary: fc.tuple(typeArb, fc.integer({ min: Math.max(0, maxPayload - 3), max: maxPayload })).map(([t, n]) => encodeFrame(t, Buffer.alloc(n, 0x5a))) },
    { weight: 2, arbitrary: structuredFrameArb.filter((f) => f.length - 4 <= maxFrameBytes) },
  );
}

/** Frames as the real peers write them (HELLO, PING, DATA, ACK, BYE, ERROR). */
const structuredFrameArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.record({ clientId: fc.string({ minLength: 1, maxLength: 20 }), heartbeatMs: fc.nat(60_000), token: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }) }).map((h) =>
    encodeJson(FrameType.HELLO, { v: PROTOCOL_VERSION, ...h }),
  ),
  fc.record({ seq: fc.nat(), sentAt: fc.double(), rttMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }) }).map((p) =>
    encodePing(FrameType.PING, p),
  ),
  fc.tuple(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ maxLength: 64 })).map(([id, p]) => encodeData(id, p)),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((id) => encodeAck(id)),
  fc.string({ maxLength: 30 }).map((r) => encodeFrame(FrameType.BYE, Buffer.from(r, 'utf8'))),
  fc.record({ code: fc.string({ maxLength: 20 }), message: fc.string({ maxLength: 40 }) }).map((e) => encodeJson(FrameType.ERROR, e)),
);

function streamArb(maxFrameBytes: number, maxFrames = 12): fc.Arbitrary<Stream> {
  return fc.array(frameArb(maxFrameBytes), { maxLength: maxFrames }).map(streamOf);
}

const mutationArbFor = (maxFrameBytes: number): fc.Arbitrary<Mutation> => mutationArb(forgedLengths(maxFrameBytes));
const anyCuts = cutsArb();

// ---------------------------------------------------------------------------
// The oracle: feed the parts, checking every invariant after every push.

interface Outcome {
  frames: Array<[number, string]>;
  error: string | undefined;
  buffered: number;
}

// Every Buffer the decoder allocates while pushing: none may exceed its bound.
let allocations: number[] | undefined;
const ALLOCATORS = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;
const realAllocators = ALLOCATORS.map((name) => Buffer[name]);
beforeAll(() => {
  ALLOCATORS.forEach((name, i) => {
    const real = realAllocators[i] as (size: number, ...rest: unknown[]) => Buffer;
    (Buffer as unknown as Record<string, unknown>)[name] = (size: number, ...rest: unknown[]) => {
      allocations?.push(size);
      return real(size, ...rest);
    };
  });
});
afterAll(() => {
  ALLOCATORS.forEach((name, i) => ((Buffer as unknown as Record<string, unknown>)[name] = realAllocators[i]));
});

/** Invariant checks in the hot loop are plain comparisons (expect() per byte would dominate the run time). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`decoder invariant broken: ${what}`);
}

function feed(maxFrameBytes: number, parts: Buffer[]): Outcome {
  const d = new FrameDecoder(maxFrameBytes);
  const out: Outcome = { frames: [], error: undefined, buffered: 0 };
  const bound = maxFrameBytes + 4;
  // A frame is assembled in at most its length, and never ahead of its bytes:
  // a buffer at most twice what has arrived (so a length alone allocates nothing).
  const allocBound = Math.max(maxFrameBytes, 4);
  for (const part of parts) {
    let frames: Frame[];
    const arrived = d.bufferedBytes + part.length;
    allocations = [];
    try {
      frames = d.push(part);
    } catch (err) {
      if (!(err instanceof ResilientError)) throw new Error(`decoder threw a non-ResilientError: ${String(err)}`, { cause: err });
      check(DECODER_CODES.includes(err.code), `unexpected code ${err.code}`);
      out.error = err.code;
      check(d.bufferedBytes <= bound, `bufferedBytes ${d.bufferedBytes} > ${bound} after a throw`);
      break;
    } finally {
      for (const size of allocations) {
        check(size <= allocBound, `allocated ${size} bytes with maxFrameBytes ${maxFrameBytes}`);
        check(size <= Math.max(MIN_PARTIAL_BYTES, 2 * arrived), `allocated ${size} bytes when ${arrived} had arrived`);
      }
      allocations = undefined;
    }
    check(d.bufferedBytes <= bound, `bufferedBytes ${d.bufferedBytes} > ${bound}`);
    for (const f of frames) {
      check(FRAME_TYPES.has(f.type), `returned unknown type ${f.type}`);
      check(f.payload.length <= maxFrameBytes - 1, `payload of ${f.payload.length} bytes with maxFrameBytes ${maxFrameBytes}`);
      out.frames.push([f.type, f.payload.toString('hex')]);
    }
  }
  out.buffered = d.bufferedBytes;
  return out;
}

/**
 * Split-independence: one byte at a time loses nothing, so it is the
 * reference. Any other split yields a prefix of its frames (a push that
 * throws drops the frames it had completed: the connection is dropped anyway)
 * and the same error, or, without an error, the same frames and the same
 * bytes left over.
 */
function expectSameAsOneByteAtATime(maxFrameBytes: number, bytes: Buffer, got: Outcome): void {
  const ref = feed(maxFrameBytes, segments(bytes));
  expect(got.error).toBe(ref.error);
  if (ref.error === undefined) {
    expect(got.frames).toEqual(ref.frames);
    expect(got.buffered).toBe(ref.buffered);
  } else {
    expect(ref.frames.slice(0, got.frames.length)).toEqual(got.frames);
  }
}

const maxArb = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 2048 }), fc.constant(MAX_HANDSHAKE_FRAME_BYTES));

// ---------------------------------------------------------------------------

describe('FrameDecoder under hostile input', () => {
  it('random bytes split anywhere: frames or ERR_FRAME_TOO_LARGE / ERR_PROTOCOL, within the bound, whatever the split', () => {
    fc.assert(
      fc.property(maxArb, fc.uint8Array({ maxLength: 600 }), anyCuts, (max, raw, cuts) => {
        const bytes = Buffer.from(raw);
        const got = feed(max, splitAt(bytes, cuts));
        expectSameAsOneByteAtATime(max, bytes, got);
      }),
      { numRuns: 400 },
    );
  });

  it('random valid frames split anywhere decode exactly, with nothing left over', () => {
    fc.assert(
      fc.property(
        maxArb.chain((max) => fc.tuple(fc.constant(max), fc.array(frameArb(max), { maxLength: 12 }))),
        anyCuts,
        ([max, frames], cuts) => {
          const bytes = Buffer.concat(frames);
          const got = feed(max, splitAt(bytes, cuts));
          expect(got.error).toBeUndefined();
          expect(got.buffered).toBe(0);
          expect(got.frames).toEqual(frames.map((f) => [f[4], f.subarray(5).toString('hex')]));
        },
      ),
      { numRuns: 300 },
    );
  });

  // The server starts its frame timeout (slowloris guard) from midFrame: it
  // must be true from a frame's first byte, its length prefix included.
  it('midFrame is true exactly while part of a frame has arrived, the length prefix alone included', () => {
    const d = new FrameDecoder(1024);
    d.push(Buffer.from([0, 0, 0, 9]));
    expect(d.midFrame).toBe(true);
    fc.assert(
      fc.property(fc.array(frameArb(2048), { maxLength: 8 }), anyCuts, (frames, cuts) => {
        const bytes = Buffer.concat(frames);
        const boundaries = new Set<number>([0]);
        frames.reduce((at, f) => (boundaries.add(at + f.length), at + f.length), 0);
        const dec = new FrameDecoder(2048);
        let at = 0;
        for (const part of splitAt(bytes, cuts)) {
          dec.push(part);
          at += part.length;
          if (dec.midFrame !== !boundaries.has(at)) {
            throw new Error(`midFrame is ${dec.midFrame} after ${at} bytes (frame boundaries at ${[...boundaries].join(',')})`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('mutated valid streams (bit flips, truncation, inserted/deleted bytes, forged lengths and types) split anywhere', () => {
    fc.assert(
      fc.property(
        maxArb.chain((max) => fc.tuple(fc.constant(max), streamArb(max), fc.array(mutationArbFor(max), { minLength: 1, maxLength: 4 }))),
        anyCuts,
        ([max, stream, mutations], cuts) => {
          const bytes = mutate(stream, mutations);
          const got = feed(max, splitAt(bytes, cuts));
          expectSameAsOneByteAtATime(max, bytes, got);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a forged length at the default 1 MiB bound: refused at once above it, and below it only the bytes actually sent are held', () => {
    const max = 1024 * 1024;
    fc.assert(
      fc.property(
        fc.constantFrom(...forgedLengths(max)),
        fc.constantFrom(...Object.values(FrameType)),
        fc.uint8Array({ maxLength: 2000 }),
        anyCuts,
        (len, type, body, cuts) => {
          const head = Buffer.alloc(5);
          head.writeUInt32BE(len, 0);
          head[4] = type;
          const bytes = Buffer.concat([head, body]);
          const got = feed(max, splitAt(bytes, cuts));
          if (len > max) expect(got.error).toBe('ERR_FRAME_TOO_LARGE');
          else if (len === 0) expect(got.error).toBe('ERR_PROTOCOL');
          else if (len > bytes.length - 4) {
            // Incomplete: held, never more than what arrived.
            expect(got.error).toBeUndefined();
            expect(got.frames).toEqual([]);
            expect(got.buffered).toBeLessThanOrEqual(bytes.length);
          }
          expectSameAsOneByteAtATime(max, bytes, got);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a decoder whose bound is raised between pushes (handshake -> open) still holds only what arrived', () => {
    fc.assert(
      fc.property(streamArb(MAX_HANDSHAKE_FRAME_BYTES, 6), fc.array(mutationArbFor(64 * 1024), { maxLength: 3 }), anyCuts, (stream, mutations, cuts) => {
        const bytes = mutate(stream, mutations);
        const d = new FrameDecoder(MAX_HANDSHAKE_FRAME_BYTES);
        for (const [i, part] of splitAt(bytes, cuts).entries()) {
          if (i === 1) d.maxFrameBytes = 64 * 1024;
          try {
            for (const f of d.push(part)) expect(f.payload.length).toBeLessThan(d.maxFrameBytes);
          } catch (err) {
            expect(err).toBeInstanceOf(ResilientError);
            expect(DECODER_CODES).toContain((err as ResilientError).code);
            break;
          }
          expect(d.bufferedBytes).toBeLessThanOrEqual(d.maxFrameBytes + 4);
        }
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------
// Payload decoders

function expectOnlyResilient<T>(fn: () => T, codes: string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ResilientError)) throw new Error(`threw a non-ResilientError: ${String(err)}`, { cause: err });
    expect(codes).toContain(err.code);
    return undefined;
  }
}

/** Random bytes, random JSON text, and valid payloads with fields replaced by anything JSON can carry. */
function payloadArb(valid: Record<string, unknown>): fc.Arbitrary<Buffer> {
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const text = (v: unknown): Buffer => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    anyJson.map(text),
    fc.dictionary(fc.constantFrom(...Object.keys(valid), 'extra', '__proto__', 'constructor'), anyJson, { maxKeys: 4 }).map((over) => text({ ...valid, ...over })),
    fc.subarray(Object.keys(valid)).map((keep) => text(Object.fromEntries(keep.map((k) => [k, valid[k]])))),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat()).map(([at, bit, cut]) => {
      const b = Buffer.from(text(valid));
      b[at % b.length] = (b[at % b.length] as number) ^ (1 << bit);
      return b.subarray(0, cut % (b.length + 1));
    }),
    // Deep nesting and odd text: no stack overflow escapes as a RangeError.
    fc.constantFrom(
      Buffer.from('['.repeat(200_000)),
      Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)),
      Buffer.from('{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)),
      Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      Buffer.from('\u0000'),
      Buffer.alloc(0),
    ),
  );
}

const validHello = { v: PROTOCOL_VERSION, clientId: 'c1', sessionId: 's1', lastSeen: 5, heartbeatMs: 1000, token: 't' };
const validWelcome = { sessionId: 's1', heartbeatMs: 1000, idleTimeoutMs: 3000, maxFrameBytes: 1 << 20, acked: 0, resumed: true };
const validError = { code: 'ERR_AUTH', message: 'no' };
const isNonNegInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

describe('payload decoders under hostile input throw only ResilientError', () => {
  it('decodeHello: a result is fully valid, anything else is ERR_PROTOCOL / ERR_PROTOCOL_VERSION', () => {
    fc.assert(
      fc.property(payloadArb(validHello), (payload) => {
        const h = expectOnlyResilient(() => decodeHello(payload), ['ERR_PROTOCOL', 'ERR_PROTOCOL_VERSION']);
        if (!h) return;
        expect(h.v).toBe(PROTOCOL_VERSION);
        expect(typeof h.clientId === 'string' && h.clientId.length >= 1 && h.clientId.length <= 256).toBe(true);
        expect(isNonNegInt(h.heartbeatMs)).toBe(true);
        if (h.sessionId !== undefined) expect(typeof h.sessionId === 'string' && h.sessionId.length >= 1 && h.sessionId.length <= 128).toBe(true);
        if (h.lastSeen !== undefined) expect(isNonNegInt(h.lastSeen)).toBe(true);
        if (h.token !== undefined) expect(typeof h.token).toBe('string');
      }),
      { numRuns: 400 },
    );
  });

  it('decodeWelcome: a result is fully valid, anything else is ERR_PROTOCOL', () => {
    fc.assert(
      fc.property(payloadArb(validWelcome), (payload) => {
        const w = expectOnlyResilient(() => decodeWelcome(payload), ['ERR_PROTOCOL']);
        if (!w) return;
        expect(typeof w.sessionId === 'string' && w.sessionId.length >= 1 && w.sessionId.length <= 128).toBe(true);
        for (const k of ['heartbeatMs', 'idleTimeoutMs', 'maxFrameBytes', 'acked'] as const) expect(isNonNegInt(w[k])).toBe(true);
        expect(typeof w.resumed).toBe('boolean');
      }),
      { numRuns: 400 },
    );
  });

  it('decodeErrorPayload: a bounded code and message, or ERR_PROTOCOL', () => {
    fc.assert(
      fc.property(payloadArb(validError), (payload) => {
        const e = expectOnlyResilient(() => decodeErrorPayload(payload), ['ERR_PROTOCOL']);
        if (!e) return;
        expect(typeof e.code === 'string' && e.code.length <= 64).toBe(true);
        expect(typeof e.message === 'string' && e.message.length <= 1024).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('decodePing: 12 or 20 bytes decode (rtt only when finite and >= 0), any other length is ERR_PROTOCOL', () => {
    const pingArb = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.nat(), fc.double(), fc.double()).map(([seq, sentAt, rttMs]) => encodePing(FrameType.PING, { seq, sentAt, rttMs }).subarray(5)),
    );
    fc.assert(
      fc.property(pingArb, (payload) => {
        const p = expectOnlyResilient(() => decodePing(payload), ['ERR_PROTOCOL']);
        if (payload.length !== 12 && payload.length !== 20) {
          expect(p).toBeUndefined();
          return;
        }
        expect(p).toBeDefined();
        expect(Number.isInteger(p!.seq) && p!.seq >= 0 && p!.seq <= 0xffffffff).toBe(true);
        if (p!.rttMs !== undefined) expect(Number.isFinite(p!.rttMs) && p!.rttMs >= 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('readId: a safe non-negative integer for 8+ bytes under 2^53, ERR_PROTOCOL otherwise', () => {
    const idArb = fc.oneof(
      fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((id) => encodeAck(id).subarray(5)),
      fc.tuple(fc.integer({ min: 0x1ffff0, max: 0xffffffff }), fc.nat()).map(([hi, lo]) => {
        const b = Buffer.alloc(8);
        b.writeUInt32BE(hi, 0);
        b.writeUInt32BE(lo >>> 0, 4);
        return b;
      }),
    );
    fc.assert(
      fc.property(idArb, (payload) => {
        const id = expectOnlyResilient(() => readId(payload), ['ERR_PROTOCOL']);
        const fits = payload.length >= 8 && payload.readUInt32BE(0) <= 0x1fffff;
        if (!fits) {
          expect(id).toBeUndefined();
          return;
        }
        expect(Number.isSafeInteger(id)).toBe(true);
        expect(id).toBe(Number(payload.readBigUInt64BE(0)));
      }),
      { numRuns: 300 },
    );
  });
});
