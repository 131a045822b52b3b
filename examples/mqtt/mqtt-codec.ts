/**
 * A minimal MQTT 3.1.1 codec (OASIS standard, http://docs.oasis-open.org/mqtt/mqtt/v3.1.1/mqtt-v3.1.1.html),
 * enough for a QoS 0 client: it encodes CONNECT, PUBLISH (QoS 0), SUBSCRIBE,
 * PINGREQ and DISCONNECT, and decodes what a broker sends such a client:
 * CONNACK, PUBLISH (QoS 0), SUBACK and PINGRESP.
 *
 * Bounded: a packet larger than maxPacketBytes throws ERR_FRAME_TOO_LARGE as
 * soon as its remaining length is read, before its body is buffered; anything
 * else a QoS 0 client cannot receive throws ERR_PROTOCOL (§2.2.2 reserved
 * flags, a 5-byte remaining length, QoS 1/2 PUBLISH, packets only a client sends).
 */
import { ResilientError, type Codec, type Decoder } from '../../src/index';
import { ByteBuffer } from '../shared/byte-buffer';

export type MqttPacket =
  | { type: 'connect'; clientId: string; keepaliveS: number; cleanSession: boolean; username?: string; password?: string }
  | { type: 'connack'; sessionPresent: boolean; returnCode: number }
  | { type: 'publish'; topic: string; payload: Buffer }
  | { type: 'subscribe'; packetId: number; topics: string[] }
  | { type: 'suback'; packetId: number; granted: number[] }
  | { type: 'pingreq' }
  | { type: 'pingresp' }
  | { type: 'disconnect' };

export interface MqttCodecOptions {
  /** Bound on one packet, in bytes, fixed header included. @default 1048576 (1 MiB) */
  maxPacketBytes?: number;
}

const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;
/** §2.2.3: the remaining length takes at most 4 bytes (268,435,455). */
const MAX_LENGTH_BYTES = 4;
/** §3.1.2.2: protocol level 4 is MQTT 3.1.1. */
const PROTOCOL_LEVEL = 4;
/** Packet types, §2.2.1. */
const T = { CONNECT: 1, CONNACK: 2, PUBLISH: 3, SUBSCRIBE: 8, SUBACK: 9, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14 } as const;

export function mqttCodec(options: MqttCodecOptions = {}): Codec<MqttPacket> {
  const max = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  if (!Number.isInteger(max) || max < 2) throw new TypeError(`options.maxPacketBytes must be an integer >= 2, got ${String(max)}`);
  return { encode: encodePacket, decoder: () => new MqttDecoder(max) };
}

export function encodePacket(p: MqttPacket): Uint8Array {
  switch (p.type) {
    case 'connect': {
      const flags = (p.cleanSession ? 0x02 : 0) | (p.username !== undefined ? 0x80 : 0) | (p.password !== undefined ? 0x40 : 0);
      const tail = [p.username, p.password].filter((s): s is string => s !== undefined).map(str);
      return packet(T.CONNECT << 4, [str('MQTT'), Buffer.from([PROTOCOL_LEVEL, flags]), u16(p.keepaliveS), str(p.clientId), ...tail]);
    }
    case 'publish':
      return packet(T.PUBLISH << 4, [str(p.topic), p.payload]);
    case 'subscribe': // §3.8.1: reserved flags 0010; each filter asks for QoS 0
      return packet((T.SUBSCRIBE << 4) | 0x02, [u16(p.packetId), ...p.topics.flatMap((t) => [str(t), Buffer.from([0])])]);
    case 'pingreq':
      return packet(T.PINGREQ << 4, []);
    case 'disconnect':
      return packet(T.DISCONNECT << 4, []);
    default:
      throw new TypeError(`mqttCodec does not encode ${p.type} (a broker sends it)`);
  }
}

function packet(first: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const len: number[] = [];
  let n = body.length;
  do {
    len.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) throw new TypeError('MQTT strings are at most 65535 bytes');
  return Buffer.concat([u16(b.length), b]);
}

function u16(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new TypeError(`not a 16-bit unsigned integer: ${n}`);
  return Buffer.from([n >> 8, n & 0xff]);
}

class MqttDecoder implements Decoder<MqttPacket> {
  private readonly bytes = new ByteBuffer();

  constructor(private readonly max: number) {}

  push(chunk: Uint8Array): MqttPacket[] {
    this.bytes.append(chunk);
    const out: MqttPacket[] = [];
    for (;;) {
      const buf = this.bytes.view();
      const header = remainingLength(buf);
      if (header === undefined) break;
      const total = header.offset + header.length;
      if (total > this.max) throw tooLarge(this.max);
      if (buf.length < total) break;
      out.push(decodePacket(buf[0] ?? 0, buf.subarray(header.offset, total)));
      this.bytes.consume(total);
    }
    return out;
  }
}

/** Reads the fixed header's remaining length (§2.2.3); undefined until its bytes are all here. */
function remainingLength(buf: Buffer): { offset: number; length: number } | undefined {
  let length = 0;
  for (let i = 1; i <= MAX_LENGTH_BYTES; i++) {
    const b = buf[i];
    if (b === undefined) return undefined;
    length += (b & 0x7f) * 128 ** (i - 1);
    if ((b & 0x80) === 0) return { offset: i + 1, length };
  }
  throw protocol('remaining length longer than 4 bytes');
}

function decodePacket(first: number, body: Buffer): MqttPacket {
  const type = first >> 4;
  const flags = first & 0x0f;
  const need = (n: number): void => {
    if (body.length < n) throw protocol(`packet type ${type} too short (${body.length} bytes)`);
  };
  switch (type) {
    case T.CONNACK:
      need(2);
      if (flags !== 0 || body.length !== 2) throw protocol('malformed CONNACK');
      return { type: 'connack', sessionPresent: ((body[0] ?? 0) & 1) === 1, returnCode: body[1] ?? 0 };
    case T.PUBLISH: {
      if ((flags & 0x06) !== 0) throw protocol('PUBLISH with QoS > 0: this codec subscribes with QoS 0 only');
      need(2);
      const topicLen = body.readUInt16BE(0);
      need(2 + topicLen);
      return { type: 'publish', topic: body.toString('utf8', 2, 2 + topicLen), payload: Buffer.from(body.subarray(2 + topicLen)) };
    }
    case T.SUBACK:
      need(3);
      if (flags !== 0) throw protocol('malformed SUBACK');
      return { type: 'suback', packetId: body.readUInt16BE(0), granted: [...body.subarray(2)] };
    case T.PINGRESP:
      if (flags !== 0 || body.length !== 0) throw protocol('malformed PINGRESP');
      return { type: 'pingresp' };
    default:
      throw protocol(`packet type ${type} is not one a broker sends a QoS 0 client`);
  }
}

function protocol(what: string): ResilientError {
  return new ResilientError('ERR_PROTOCOL', `MQTT: ${what}`, 'unavailable');
}

function tooLarge(max: number): ResilientError {
  return new ResilientError('ERR_FRAME_TOO_LARGE', `MQTT packet larger than maxPacketBytes (${max})`, 'unavailable');
}
