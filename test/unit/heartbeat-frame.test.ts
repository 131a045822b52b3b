import fc from 'fast-check';
import { FrameType, HEADER_BYTES, encodePing } from '../../src/protocol/frames';
import { pingFrame, pongFrame, readHeartbeat } from '../../src/protocol/heartbeat-frame';

describe('heartbeat frames from one reused buffer', () => {
  it('property: pingFrame writes the bytes encodePing allocates, with and without the RTT', () => {
    const rtt = fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined });
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.double({ noNaN: true }), rtt, (seq, sentAt, rttMs) => {
        expect(Buffer.from(pingFrame(seq, sentAt, rttMs))).toEqual(encodePing(FrameType.PING, { seq, sentAt, rttMs }));
      }),
    );
  });

  it('pongFrame echoes the payload byte for byte, even an RTT that is not a number', () => {
    // The PING's rttMs is a NaN with a payload: decoding ignores it, the echo must keep its bytes.
    const ping = encodePing(FrameType.PING, { seq: 7, sentAt: 1.5, rttMs: 1 });
    ping.set([0x7f, 0xf4, 1, 2, 3, 4, 5, 6], HEADER_BYTES + 12);
    const body = Buffer.concat([Buffer.from([0xaa]), ping.subarray(HEADER_BYTES)]); // the payload not at offset 0
    const p = readHeartbeat(body, 1, body.length);
    expect([p.seq, p.sentAt, p.rttMs]).toEqual([7, 1.5, undefined]);
    const pong = Buffer.from(pongFrame(body, 1, body.length));
    expect(pong[4]).toBe(FrameType.PONG);
    expect(pong.readUInt32BE(0)).toBe(21);
    expect(pong.subarray(HEADER_BYTES)).toEqual(ping.subarray(HEADER_BYTES));
    // A short PING after a long one: only its own 12 bytes, nothing left over from the last frame.
    const short = encodePing(FrameType.PING, { seq: 8, sentAt: 2 });
    expect(Buffer.from(pongFrame(short, HEADER_BYTES, short.length))).toEqual(encodePing(FrameType.PONG, { seq: 8, sentAt: 2 }));
  });

  it('readHeartbeat reuses one object and clears an RTT the next payload lacks; a bad length is ERR_PROTOCOL', () => {
    const a = encodePing(FrameType.PONG, { seq: 1, sentAt: 1, rttMs: 3 });
    const b = encodePing(FrameType.PONG, { seq: 2, sentAt: 2 });
    expect(readHeartbeat(a, HEADER_BYTES, a.length).rttMs).toBe(3);
    const p = readHeartbeat(b, HEADER_BYTES, b.length);
    expect([p.seq, p.rttMs]).toEqual([2, undefined]);
    expect(() => readHeartbeat(b, HEADER_BYTES, b.length - 1)).toThrow(/12 or 20 bytes/);
  });
});
