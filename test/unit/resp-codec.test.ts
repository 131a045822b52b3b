/**
 * The RESP2 example codec (examples/redis/resp-codec.ts) without a server:
 * any split of a reply stream decodes the same, bounds hold, and hostile bytes
 * only ever throw ERR_PROTOCOL or ERR_FRAME_TOO_LARGE.
 */
import fc from 'fast-check';
import { RespError, respCodec, type RespValue } from '../../examples/redis/resp-codec';
import { splitAt } from '../support/split';
import { thrownCode } from '../support/thrown-code';

/** What redis-server would send for `v`; strings as bulk or simple (both decode to the same string). */
function reply(v: RespValue, simple = false): string {
  if (v === null) return '$-1\r\n';
  if (typeof v === 'number') return `:${v}\r\n`;
  if (typeof v === 'string') return simple && !/[\r\n]/.test(v) ? `+${v}\r\n` : `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
  if (v instanceof RespError) return `-${v.message}\r\n`;
  return `*${v.length}\r\n${v.map((x, i) => reply(x, (i & 1) === 1)).join('')}`;
}

const lineText = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
const { value: valueArb } = fc.letrec<{ value: RespValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.maxSafeInteger(),
    fc.constant(null),
    lineText.map((m) => new RespError(m)),
    fc.array(tie('value'), { maxLength: 5 }),
  ),
}));

describe('RESP codec', () => {
  test('encodes a command as an array of bulk strings, lengths in UTF-8 bytes', () => {
    const bytes = Buffer.from(respCodec().encode(['SET', 'clé', 42])).toString('utf8');
    expect(bytes).toBe('*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$2\r\n42\r\n');
  });

  test('refuses to encode anything but a non-empty array of strings and numbers', () => {
    const { encode } = respCodec();
    for (const bad of [[], 'PING', null, [['nested']], [new RespError('x')], [null]] as RespValue[]) {
      expect(() => encode(bad)).toThrow(TypeError);
    }
    expect(() => respCodec({ maxReplyBytes: 0 })).toThrow(/maxReplyBytes/);
  });

  test('property: any split of a reply stream decodes to the same replies', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), (values, cuts) => {
        const stream = Buffer.from(values.map((v, i) => reply(v, i % 3 === 0)).join(''), 'utf8');
        const d = respCodec().decoder();
        expect(splitAt(stream, cuts).flatMap((part) => d.push(part))).toEqual(values);
      }),
    );
  });

  test('property: a reply over maxReplyBytes throws ERR_FRAME_TOO_LARGE however it is split', () => {
    fc.assert(
      fc.property(valueArb, fc.array(fc.nat(), { maxLength: 20 }), (v, cuts) => {
        const stream = Buffer.from(reply(v), 'utf8');
        fc.pre(stream.length > 8);
        const d = respCodec({ maxReplyBytes: stream.length - 1 }).decoder();
        expect(thrownCode(() => splitAt(stream, cuts).forEach((part) => d.push(part)))).toBe('ERR_FRAME_TOO_LARGE');
        // exactly at the bound it decodes
        expect(respCodec({ maxReplyBytes: stream.length }).decoder().push(stream)).toEqual([v]);
      }),
    );
  });

  test('an oversize bulk or array length is refused from its header, before the body arrives', () => {
    expect(thrownCode(() => respCodec({ maxReplyBytes: 1000 }).decoder().push(Buffer.from('$5000\r\n')))).toBe('ERR_FRAME_TOO_LARGE');
    expect(thrownCode(() => respCodec({ maxReplyBytes: 1000 }).decoder().push(Buffer.from('*400\r\n')))).toBe('ERR_FRAME_TOO_LARGE');
    expect(thrownCode(() => respCodec({ maxReplyBytes: 1000 }).decoder().push(Buffer.from('+'.padEnd(1001, 'x'))))).toBe('ERR_FRAME_TOO_LARGE');
  });

  test.each([
    ['an unknown type byte', 'GET /\r\n'],
    ['a length that is not an integer', '$abc\r\n'],
    ['a negative length below -1', '*-2\r\n'],
    ['a bulk string not followed by CRLF', '$2\r\nokXY'],
    ['arrays nested 33 deep', `${'*1\r\n'.repeat(33)}:1\r\n`],
  ])('%s is ERR_PROTOCOL', (_, bytes) => {
    expect(thrownCode(() => respCodec().decoder().push(Buffer.from(bytes)))).toBe('ERR_PROTOCOL');
  });

  test('property: random bytes only ever throw ERR_PROTOCOL or ERR_FRAME_TOO_LARGE', () => {
    const prefix = fc.constantFrom(...'+-:$*'.split('').map((c) => Buffer.from(c)), Buffer.alloc(0));
    fc.assert(
      fc.property(fc.array(fc.tuple(prefix, fc.uint8Array({ maxLength: 30 })), { maxLength: 20 }), (parts) => {
        const d = respCodec({ maxReplyBytes: 256 }).decoder();
        const code = thrownCode(() => parts.forEach(([p, b]) => d.push(Buffer.concat([p, b]))));
        expect([undefined, 'ERR_PROTOCOL', 'ERR_FRAME_TOO_LARGE']).toContain(code);
      }),
    );
  });

  test('one-byte chunks of a 200 KB bulk string and of a 20,000-element array decode in linear time', () => {
    const big = 'x'.repeat(200_000);
    const many = Array.from({ length: 20_000 }, (_, i) => i);
    const stream = Buffer.from(reply(big) + reply(many));
    const d = respCodec().decoder();
    const out: RespValue[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual([big, many]);
  });
});
