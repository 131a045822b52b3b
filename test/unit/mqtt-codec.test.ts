/**
 * The MQTT 3.1.1 example codec (examples/mqtt/mqtt-codec.ts) without a
 * broker: exact bytes of what it encodes, any split of a broker's stream
 * decodes the same, bounds hold, hostile bytes only throw the two codes.
 */
import fc from 'fast-check';
import { encodePacket, mqttCodec, type MqttPacket } from '../../examples/mqtt/mqtt-codec';
import { splitAt } from '../support/split';
import { thrownCode } from '../support/thrown-code';

type BrokerPacket = Extract<MqttPacket, { type: 'connack' | 'publish' | 'suback' | 'pingresp' }>;

/** What a broker sends (the codec encodes only the client's side; PUBLISH is the same both ways). */
function brokerBytes(p: BrokerPacket): Buffer {
  switch (p.type) {
    case 'connack':
      return Buffer.from([0x20, 2, p.sessionPresent ? 1 : 0, p.returnCode]);
    case 'suback':
      return Buffer.from([0x90, 2 + p.granted.length, p.packetId >> 8, p.packetId & 0xff, ...p.granted]);
    case 'pingresp':
      return Buffer.from([0xd0, 0]);
    case 'publish':
      return Buffer.from(encodePacket(p));
  }
}

const packetArb: fc.Arbitrary<BrokerPacket> = fc.oneof(
  fc.record({ type: fc.constant('connack' as const), sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ type: fc.constant('suback' as const), packetId: fc.integer({ min: 1, max: 0xffff }), granted: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 8 }) }),
  fc.constant({ type: 'pingresp' as const }),
  fc.record({
    type: fc.constant('publish' as const),
    topic: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
    payload: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  }),
);

const hex = (p: MqttPacket): string => Buffer.from(encodePacket(p)).toString('hex');

describe('MQTT codec', () => {
  test('encodes the client packets byte for byte as MQTT 3.1.1 specifies', () => {
    // §3.1: fixed header 10 0f, "MQTT", level 4, flags (clean session), keepalive 60, client id "c"
    expect(hex({ type: 'connect', clientId: 'c', keepaliveS: 60, cleanSession: true })).toBe('100d00044d5154540402003c000163');
    expect(hex({ type: 'connect', clientId: 'c', keepaliveS: 60, cleanSession: false, username: 'u', password: 'p' })).toBe(
      '1013' + '00044d515454' + '04' + 'c0' + '003c' + '000163' + '000175' + '000170',
    );
    expect(hex({ type: 'subscribe', packetId: 1, topics: ['a/b'] })).toBe('8208' + '0001' + '0003612f62' + '00');
    expect(hex({ type: 'publish', topic: 't', payload: Buffer.from('hi') })).toBe('3005' + '000174' + '6869');
    expect(hex({ type: 'pingreq' })).toBe('c000');
    expect(hex({ type: 'disconnect' })).toBe('e000');
  });

  test('remaining length is a varint: 127 takes one byte, 128 two, 16384 three', () => {
    const lengthBytes = (payloadLen: number): string => {
      const b = Buffer.from(encodePacket({ type: 'publish', topic: 't', payload: Buffer.alloc(payloadLen - 3) }));
      return b.subarray(1, 1 + (b.length - 1 - payloadLen)).toString('hex');
    };
    expect(lengthBytes(127)).toBe('7f');
    expect(lengthBytes(128)).toBe('8001');
    expect(lengthBytes(16_383)).toBe('ff7f');
    expect(lengthBytes(16_384)).toBe('808001');
  });

  test('refuses to encode what only a broker sends, and bad options', () => {
    expect(() => encodePacket({ type: 'connack', sessionPresent: false, returnCode: 0 })).toThrow(TypeError);
    expect(() => encodePacket({ type: 'subscribe', packetId: 70_000, topics: ['a'] })).toThrow(TypeError);
    expect(() => mqttCodec({ maxPacketBytes: 1 })).toThrow(/maxPacketBytes/);
  });

  test('property: any split of a broker stream decodes to the same packets', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (packets, cuts) => {
        const stream = Buffer.concat(packets.map(brokerBytes));
        const d = mqttCodec().decoder();
        expect(splitAt(stream, cuts).flatMap((part) => d.push(part))).toEqual(packets);
      }),
    );
  });

  test('a 200 KB PUBLISH in one-byte chunks decodes (three-byte length)', () => {
    const p: BrokerPacket = { type: 'publish', topic: 'big', payload: Buffer.alloc(200_000, 9) };
    const stream = brokerBytes(p);
    const d = mqttCodec().decoder();
    const out: MqttPacket[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual([p]);
  });

  test('a packet over maxPacketBytes is refused from its fixed header, before its body', () => {
    expect(thrownCode(() => mqttCodec({ maxPacketBytes: 1000 }).decoder().push(Buffer.from([0x30, 0xe9, 0x07])))).toBe('ERR_FRAME_TOO_LARGE');
  });

  test.each([
    ['a five-byte remaining length', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a QoS 1 PUBLISH', [0x32, 5, 0, 1, 0x74, 0, 1]],
    ['a CONNECT (only clients send it)', [...encodePacket({ type: 'connect', clientId: 'x', keepaliveS: 1, cleanSession: true })]],
    ['a CONNACK with a wrong length', [0x20, 3, 0, 0, 0]],
    ['a PUBLISH whose topic runs past its end', [0x30, 3, 0, 9, 0x74]],
  ])('%s is ERR_PROTOCOL', (_, bytes) => {
    expect(thrownCode(() => mqttCodec().decoder().push(Buffer.from(bytes)))).toBe('ERR_PROTOCOL');
  });

  test('property: random bytes only ever throw ERR_PROTOCOL or ERR_FRAME_TOO_LARGE', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), (chunks) => {
        const d = mqttCodec({ maxPacketBytes: 256 }).decoder();
        const code = thrownCode(() => chunks.forEach((c) => d.push(c)));
        expect([undefined, 'ERR_PROTOCOL', 'ERR_FRAME_TOO_LARGE']).toContain(code);
      }),
    );
  });
});
