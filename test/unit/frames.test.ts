import fc from 'fast-check';
import { FrameDecoder } from '../../src/protocol/decoder';
import {
  FrameType,
  decodeHello,
  decodePing,
  encodeAck,
  encodeData,
  encodeFrame,
  encodeJson,
  encodePing,
  isFrameType,
  readId,
  readIdAt,
} from '../../src/protocol/frames';
import { ResilientError } from '../../src/core/errors';
import { splitAt } from '../support/split';

const typeArb = fc.constantFrom(...Object.values(FrameType));
const frameArb = fc.record({ type: typeArb, payload: fc.uint8Array({ maxLength: 300 }) });


describe('frames and FrameDecoder', () => {
  it('property: any split of the byte stream decodes to the same frames', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
        const d = new FrameDecoder(1024);
        const out = splitAt(stream, cuts).flatMap((part) => d.push(part));
        expect(out.map((f) => [f.type, Buffer.from(f.payload).toString('hex')])).toEqual(
          frames.map((f) => [f.type, Buffer.from(f.payload).toString('hex')]),
        );
        expect(d.bufferedBytes).toBe(0);
      }),
    );
  });

  it('one-byte chunks of a large frame decode in linear time', () => {
    const payload = Buffer.alloc(200_000, 7);
    const stream = encodeFrame(FrameType.DATA, payload);
    const d = new FrameDecoder(1 << 20);
    let frames = 0;
    for (let i = 0; i < stream.length; i++) frames += d.push(stream.subarray(i, i + 1)).length;
    expect(frames).toBe(1);
  });

  it('rejects a length over maxFrameBytes as soon as the 4 length bytes are in', () => {
    const d = new FrameDecoder(1024);
    expect(d.push(Buffer.from([0xff, 0xff]))).toEqual([]);
    let err: unknown;
    try {
      d.push(Buffer.from([0xff, 0xff]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResilientError);
    expect((err as ResilientError).code).toBe('ERR_FRAME_TOO_LARGE');
    expect(d.bufferedBytes).toBe(0);
  });

  it('a length prefix cut byte by byte keeps its value, its high bytes included, and counts as buffered until complete', () => {
    const d = new FrameDecoder(1 << 24);
    const prefix = [0x00, 0xff, 0xfe, 0x10];
    prefix.slice(0, 3).forEach((b, i) => {
      expect(d.push(Buffer.from([b]))).toEqual([]);
      expect(d.bufferedBytes).toBe(i + 1);
      expect(d.midFrame).toBe(true);
    });
    d.push(Buffer.from([prefix[3] as number, FrameType.DATA]));
    // 0x00fffe10 bytes declared, one in: the prefix no longer counts, the body's byte does.
    expect(d.bufferedBytes).toBe(1);
    const big = new FrameDecoder(1 << 24);
    for (const b of [0xff, 0xff, 0xff]) big.push(Buffer.from([b]));
    expect(() => big.push(Buffer.from([0xfe]))).toThrow(/frame of 4294967294 bytes exceeds/);
    expect(big.bufferedBytes).toBe(0);
  });

  it('rejects length 0, unknown types and "GET " as a length prefix', () => {
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0, 0]))).toThrow(/length 0/);
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0, 1, 99]))).toThrow(/unknown frame type 99/);
    expect(() => new FrameDecoder(1 << 20).push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/exceeds maxFrameBytes/);
  });

  it('knows exactly the frame types of FrameType, for every byte', () => {
    const known = new Set<number>(Object.values(FrameType));
    for (let t = 0; t < 256; t++) expect([t, isFrameType(t)]).toEqual([t, known.has(t)]);
  });

  it('reads ids byte by byte, bounded by the end of their frame, not of the buffer', () => {
    for (const id of [0, 1, 0xff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, 0x1f_ffff_ffff_ffff]) {
      expect(readIdAt(Buffer.concat([Buffer.from([9]), encodeAck(id).subarray(5)]), 1)).toBe(id);
    }
    // A frame of 1 + 7 bytes inside a larger buffer: its id is short, whatever follows it.
    const buf = Buffer.alloc(32, 0);
    buf[8] = 5;
    expect(() => readIdAt(buf, 1, 8)).toThrow(/shorter than its 8-byte id/);
    expect(readIdAt(buf, 1, 9)).toBe(5);
  });

  it('encodes DATA and ACK ids as u64 and refuses ids past 2^53', () => {
    const d = new FrameDecoder(1024);
    const big = Number.MAX_SAFE_INTEGER;
    const [data, ack] = d.push(Buffer.concat([encodeData(big, Buffer.from('hi')), encodeAck(4_294_967_297)]));
    expect(readId(data!.payload)).toBe(big);
    expect(data!.payload.subarray(8).toString()).toBe('hi');
    expect(readId(ack!.payload)).toBe(4_294_967_297);
    const bad = Buffer.alloc(8, 0xff);
    expect(() => readId(bad)).toThrow(/2\^53/);
  });

  it('round-trips PING with and without the rtt extension', () => {
    const d = new FrameDecoder(1024);
    const [a, b] = d.push(
      Buffer.concat([encodePing(FrameType.PING, { seq: 5, sentAt: 123.5 }), encodePing(FrameType.PONG, { seq: 6, sentAt: 1, rttMs: 2.5 })]),
    );
    expect(decodePing(a!.payload)).toEqual({ seq: 5, sentAt: 123.5 });
    expect(decodePing(b!.payload)).toEqual({ seq: 6, sentAt: 1, rttMs: 2.5 });
    expect(() => decodePing(Buffer.alloc(3))).toThrow(/12 or 20 bytes/);
  });

  it('validates HELLO field by field', () => {
    const frame = (o: object) => new FrameDecoder(1024).push(encodeJson(FrameType.HELLO, o))[0]!.payload;
    expect(decodeHello(frame({ v: 1, clientId: 'c', heartbeatMs: 10 }))).toEqual({ v: 1, clientId: 'c', heartbeatMs: 10 });
    expect(() => decodeHello(frame({ v: 2, clientId: 'c', heartbeatMs: 10 }))).toThrow(/version 2/);
    expect(() => decodeHello(frame({ v: 1, clientId: '', heartbeatMs: 10 }))).toThrow(/clientId/);
    expect(() => decodeHello(frame({ v: 1, clientId: 'c', heartbeatMs: -1 }))).toThrow(/heartbeatMs/);
    expect(() => decodeHello(Buffer.from('{nope'))).toThrow(/JSON/);
    expect(() => decodeHello(Buffer.from('[1]'))).toThrow(/object/);
  });
});
