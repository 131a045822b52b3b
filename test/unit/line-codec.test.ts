/**
 * lineCodec (src/codec.ts): LF or CRLF on the way out, either on the way in,
 * any split of the byte stream decoding the same lines, and the line bound
 * enforced as soon as it is crossed.
 */
import fc from 'fast-check';
import { lineCodec, type LineCodecOptions } from '../../src/protocol/codec';
import { ResilientError } from '../../src/core/errors';
import { cutsArb } from '../support/mutations';
import { splitAt } from '../support/split';
import { segments } from '../support/trickle';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

interface Outcome {
  lines: string[];
  error: string | undefined;
}

/** Feeds the parts to one decoder; stops at the first throw, which must be a ResilientError. */
function feed(parts: Buffer[], options: LineCodecOptions = {}): Outcome {
  const d = lineCodec(options).decoder();
  const out: Outcome = { lines: [], error: undefined };
  for (const part of parts) {
    try {
      out.lines.push(...d.push(part));
    } catch (err) {
      if (!(err instanceof ResilientError)) throw err;
      out.error = err.code;
      break;
    }
  }
  return out;
}

/** Any text without LF (CR allowed anywhere), multi-byte UTF-8 included. */
const lineArb = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\n'));

describe('lineCodec options', () => {
  it('encodes with LF by default and with CRLF when asked', () => {
    expect(text(lineCodec().encode('hi'))).toBe('hi\n');
    expect(text(lineCodec({ delimiter: '\n' }).encode('hi'))).toBe('hi\n');
    expect(text(lineCodec({ delimiter: '\r\n' }).encode('NICK bot'))).toBe('NICK bot\r\n');
  });

  it.each([['\r'], [''], ['\n\r'], [';'], [10]])('rejects delimiter %j with a TypeError naming the option', (delimiter) => {
    expect(() => lineCodec({ delimiter } as unknown as LineCodecOptions)).toThrow(TypeError);
    expect(() => lineCodec({ delimiter } as unknown as LineCodecOptions)).toThrow(/options\.delimiter/);
  });

  it.each([[0], [1.5], [-1], ['10']])('rejects maxLineBytes %j with a TypeError naming the option', (maxLineBytes) => {
    expect(() => lineCodec({ maxLineBytes } as unknown as LineCodecOptions)).toThrow(/options\.maxLineBytes/);
  });

  it('refuses to encode a message with a newline or that is not a string', () => {
    expect(() => lineCodec().encode('a\nb')).toThrow(TypeError);
    expect(() => lineCodec({ delimiter: '\r\n' }).encode('a\nb')).toThrow(TypeError);
    expect(() => lineCodec().encode(5 as unknown as string)).toThrow(TypeError);
  });
});

describe('lineCodec decoder', () => {
  it('decodes LF and CRLF lines alike, whichever delimiter it encodes with', () => {
    for (const delimiter of ['\n', '\r\n'] as const) {
      const got = feed([Buffer.from('a\r\nb\nc\r\n\r\n\nrest')], { delimiter });
      expect(got).toEqual({ lines: ['a', 'b', 'c', '', ''], error: undefined });
    }
  });

  it('takes Uint8Array chunks as well as Buffers', () => {
    const d = lineCodec().decoder();
    expect(d.push(new TextEncoder().encode('x\ny'))).toEqual(['x']);
    expect(d.push(new Uint8Array([0x7a, 0x0d, 0x0a]))).toEqual(['yz']);
  });

  it('property: lines encoded with CRLF decode exactly, however the bytes are cut (multi-byte characters included)', () => {
    const codec = lineCodec({ delimiter: '\r\n' });
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 20 }), cutsArb(), (lines, cuts) => {
        const bytes = Buffer.concat(lines.map((l) => codec.encode(l)));
        expect(feed(splitAt(bytes, cuts))).toEqual({ lines, error: undefined });
      }),
      { numRuns: 300 },
    );
  });

  it('property: lines encoded with LF decode exactly, however the bytes are cut (a trailing CR is taken as part of a CRLF)', () => {
    const codec = lineCodec();
    fc.assert(
      fc.property(fc.array(lineArb.filter((l) => !l.endsWith('\r')), { maxLength: 20 }), cutsArb(), (lines, cuts) => {
        const bytes = Buffer.concat(lines.map((l) => codec.encode(l)));
        expect(feed(splitAt(bytes, cuts))).toEqual({ lines, error: undefined });
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes give the same lines and the same error one byte at a time as split anywhere', () => {
    // LF, CR and a letter often, so lines end near the bound both ways.
    const byteArb = fc.oneof(fc.constantFrom(0x0a, 0x0d, 0x61), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(byteArb, { maxLength: 120 }), fc.integer({ min: 1, max: 16 }), cutsArb(), (raw, maxLineBytes, cuts) => {
        const bytes = Buffer.from(raw);
        const ref = feed(segments(bytes), { maxLineBytes });
        const got = feed(splitAt(bytes, cuts), { maxLineBytes });
        expect(got.error).toBe(ref.error);
        // A push that throws drops the lines it completed: the connection is dropped anyway.
        expect(ref.lines.slice(0, got.lines.length)).toEqual(got.lines);
        if (ref.error === undefined) expect(got.lines).toEqual(ref.lines);
      }),
      { numRuns: 500 },
    );
  });

  describe('maxLineBytes (the delimiter not counted)', () => {
    const max = 10;
    const line = 'x'.repeat(max);

    it('a line of exactly the bound decodes, ended by LF or by CRLF, whole or a byte at a time', () => {
      for (const stream of [`${line}\n`, `${line}\r\n`]) {
        expect(feed([Buffer.from(stream)], { maxLineBytes: max })).toEqual({ lines: [line], error: undefined });
        expect(feed(segments(Buffer.from(stream)), { maxLineBytes: max })).toEqual({ lines: [line], error: undefined });
      }
    });

    it('one byte more is ERR_FRAME_TOO_LARGE, thrown by the push that brings it, before any delimiter', () => {
      const d = lineCodec({ maxLineBytes: max }).decoder();
      for (const b of segments(Buffer.from(line))) expect(d.push(b)).toEqual([]);
      expect(() => d.push(Buffer.from('y'))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
      expect(feed([Buffer.from(`${line}y\n`)], { maxLineBytes: max }).error).toBe('ERR_FRAME_TOO_LARGE');
    });

    it('a CR past the bound is held only while it may start a CRLF', () => {
      const d = lineCodec({ maxLineBytes: max }).decoder();
      expect(d.push(Buffer.from(`${line}\r`))).toEqual([]);
      expect(() => d.push(Buffer.from('z'))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
      expect(feed([Buffer.from(`${line}\r\r\n`)], { maxLineBytes: max }).error).toBe('ERR_FRAME_TOO_LARGE');
    });
  });
});
