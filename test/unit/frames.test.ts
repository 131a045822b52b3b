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
  readId,
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

  it('rejects length 0, unknown types and "GET " as a length prefix', () => {
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0, 0]))).toThrow(/length 0/);
    expect(() => new FrameDecoder(1024).push(Buffer.from([0, 0, 0, 1, 99]))).toThrow(/unknown frame type 99/);
    expect(() => new FrameDecoder(1 << 20).push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/exceeds maxFrameBytes/);
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
