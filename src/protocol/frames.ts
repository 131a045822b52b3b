/**
 * Frame layout and message types of the default wire protocol (docs/protocol.md):
 *
 *   u32 big-endian length (of what follows) | u8 type | payload
 *
 * Encoders return one Buffer per frame; the writer coalesces them.
 */
import { ResilientError, sdkError } from '../core/errors';

export const PROTOCOL_VERSION = 1;

export const FrameType = {
  HELLO: 1,
  WELCOME: 2,
  PING: 3,
  PONG: 4,
  DATA: 5,
  ACK: 6,
  BYE: 7,
  ERROR: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_TYPE_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(FrameType).map(([name, num]) => [num, name])),
);

/** 1 at each known type byte: the decoder checks every frame's type with one indexed read. */
const KNOWN_TYPES = new Uint8Array(256);
for (const t of Object.values(FrameType)) KNOWN_TYPES[t] = 1;

/** True when the byte `t` is a known frame type. */
export function isFrameType(t: number): t is FrameType {
  return KNOWN_TYPES[t] === 1;
}

/** Bytes before the payload: u32 length + u8 type. */
export const HEADER_BYTES = 5;
/** Bytes of a DATA frame's id (u64). */
export const ID_BYTES = 8;
/** Default bound on a frame's length field (type + payload), in bytes: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Bound on any frame before the handshake is done (HELLO carries a token and
 * a few ids): an unauthenticated peer cannot make the server buffer more.
 */
export const MAX_HANDSHAKE_FRAME_BYTES = 8 * 1024;

export interface Frame {
  readonly type: FrameType;
  readonly payload: Buffer;
}

export interface Hello {
  v: number;
  clientId: string;
  sessionId?: string;
  /** Highest server->client DATA id the client has delivered. */
  lastSeen?: number;
  /** The client's heartbeat interval, in ms (0 when it sends none). */
  heartbeatMs: number;
  token?: string;
  /** The client's bound on a frame's length: the server never sends it a larger frame. */
  maxFrameBytes?: number;
}

export interface Welcome {
  sessionId: string;
  /** The ping interval the server asks for, in ms (<= the client's). */
  heartbeatMs: number;
  idleTimeoutMs: number;
  maxFrameBytes: number;
  /** Highest client->server DATA id the server has delivered in this session. */
  acked: number;
  /** True when the presented session was found and resumed. */
  resumed: boolean;
}

export interface ErrorPayload {
  code: string;
  message: string;
}

export interface PingPayload {
  seq: number;
  sentAt: number;
  /** Extension: the client's last measured RTT in ms, so the server can show it. */
  rttMs?: number;
}

/** One frame: header + payload. */
export function encodeFrame(type: FrameType, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + len);
  buf.writeUInt32BE(len + 1, 0);
  buf[4] = type;
  if (payload) buf.set(payload, HEADER_BYTES);
  return buf;
}

export function encodeJson(type: FrameType, value: object): Buffer {
  return encodeFrame(type, Buffer.from(JSON.stringify(value), 'utf8'));
}

/** Bytes of a DATA frame before its payload: length, type, id. */
export const DATA_HEADER_BYTES = HEADER_BYTES + ID_BYTES;

/**
 * Writes a DATA frame's header at `offset` of `buf` (the payload follows it).
 * Byte stores, not writeUInt32BE: it runs once per message, and the caller
 * knows the 13 bytes are there and the values in range (a payload is bounded
 * by the frame limit, an id by 2^53).
 */
export function writeDataHeader(buf: Buffer, offset: number, id: number, payloadBytes: number): void {
  putU32(buf, offset, 1 + ID_BYTES + payloadBytes);
  buf[offset + 4] = FrameType.DATA;
  putU32(buf, offset + HEADER_BYTES, id > 0xffff_ffff ? Math.floor(id / 0x1_0000_0000) : 0);
  putU32(buf, offset + HEADER_BYTES + 4, id >>> 0);
}

/** Stores `v` (an integer below 2^32) big-endian at `o`, with no argument checks (as u32At reads). */
function putU32(buf: Buffer, o: number, v: number): void {
  buf[o] = v >>> 24;
  buf[o + 1] = v >>> 16;
  buf[o + 2] = v >>> 8;
  buf[o + 3] = v;
}

/** A DATA frame, built in one allocation. */
export function encodeData(id: number, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES + payload.length);
  writeDataHeader(buf, 0, id, payload.length);
  buf.set(payload, DATA_HEADER_BYTES);
  return buf;
}

/** The 13-byte header of a DATA frame whose payload is written separately. */
export function encodeDataHeader(id: number, payloadBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES);
  writeDataHeader(buf, 0, id, payloadBytes);
  return buf;
}

/** Payloads at least this large are written as header + payload, without a copy. */
export const COPY_PAYLOAD_BELOW = 4096;

export function encodeAck(id: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + ID_BYTES);
  buf.writeUInt32BE(1 + ID_BYTES, 0);
  buf[4] = FrameType.ACK;
  writeU64(buf, HEADER_BYTES, id);
  return buf;
}

/** Bytes of a PING/PONG payload: u32 seq and f64 sentAt, then the optional f64 rttMs (docs/protocol.md). */
export const PING_BYTES = 12;
export const PING_RTT_BYTES = 20;

/**
 * Writes a whole PING or PONG frame (header and payload) at `offset` of `buf`,
 * which has HEADER_BYTES + PING_RTT_BYTES free there; returns the frame's length.
 */
export function writePing(buf: Buffer, offset: number, type: typeof FrameType.PING | typeof FrameType.PONG, seq: number, sentAt: number, rttMs: number | undefined): number {
  const payloadBytes = rttMs === undefined ? PING_BYTES : PING_RTT_BYTES;
  buf.writeUInt32BE(1 + payloadBytes, offset);
  buf[offset + 4] = type;
  buf.writeUInt32BE(seq >>> 0, offset + HEADER_BYTES);
  buf.writeDoubleBE(sentAt, offset + HEADER_BYTES + 4);
  if (rttMs !== undefined) buf.writeDoubleBE(rttMs, offset + HEADER_BYTES + PING_BYTES);
  return HEADER_BYTES + payloadBytes;
}

export function encodePing(type: typeof FrameType.PING | typeof FrameType.PONG, p: PingPayload): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + (p.rttMs === undefined ? PING_BYTES : PING_RTT_BYTES));
  writePing(buf, 0, type, p.seq, p.sentAt, p.rttMs);
  return buf;
}

/** Reads the PING/PONG payload at `buf[start, end)` into `out` (reused by the receive path); `rttMs` only when finite and >= 0. */
export function readPing(buf: Buffer, start: number, end: number, out: PingPayload): PingPayload {
  const len = end - start;
  if (len !== PING_BYTES && len !== PING_RTT_BYTES) {
    throw sdkError('ERR_PROTOCOL', `PING/PONG payload must be ${PING_BYTES} or ${PING_RTT_BYTES} bytes, got ${len}`);
  }
  out.seq = u32At(buf, start);
  out.sentAt = buf.readDoubleBE(start + 4);
  const rtt = len === PING_RTT_BYTES ? buf.readDoubleBE(start + PING_BYTES) : NaN;
  out.rttMs = Number.isFinite(rtt) && rtt >= 0 ? rtt : undefined;
  return out;
}

export function decodePing(payload: Buffer): PingPayload {
  const p = readPing(payload, 0, payload.length, { seq: 0, sentAt: 0, rttMs: undefined });
  return p.rttMs === undefined ? { seq: p.seq, sentAt: p.sentAt } : p;
}

/** The u64 id at the start of a DATA or ACK payload. */
export function readId(payload: Buffer): number {
  return readIdAt(payload, 0);
}

/**
 * The u64 id at `offset` of `buf`, whose frame ends at `end` (1 in a frame
 * body, after the type byte). Read byte by byte: one DATA frame each, on the
 * receive path (Buffer#readUInt32BE validates its argument on every call).
 */
export function readIdAt(buf: Buffer, offset: number, end = buf.length): number {
  if (end - offset < ID_BYTES) throw sdkError('ERR_PROTOCOL', 'DATA/ACK payload shorter than its 8-byte id');
  const hi = u32At(buf, offset);
  // Ids are JS numbers in memory: refuse what would lose precision.
  if (hi > 0x1fffff) throw sdkError('ERR_PROTOCOL', 'id exceeds 2^53');
  return hi * 0x1_0000_0000 + u32At(buf, offset + 4);
}

/** The big-endian u32 at `o` of `buf`, which the caller knows holds 4 bytes there (no argument checks: read per frame). */
export function u32At(buf: Buffer, o: number): number {
  return (buf[o] as number) * 0x100_0000 + (((buf[o + 1] as number) << 16) | ((buf[o + 2] as number) << 8) | (buf[o + 3] as number));
}

/** Where a DATA frame's payload starts in its body (type byte + id). */
export const DATA_BODY_OFFSET = 1 + ID_BYTES;

function writeU64(buf: Buffer, offset: number, id: number): void {
  buf.writeUInt32BE(Math.floor(id / 0x1_0000_0000), offset);
  buf.writeUInt32BE(id >>> 0, offset + 4);
}

export function parseJson(payload: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw sdkError('ERR_PROTOCOL', `${what} is not valid JSON`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw sdkError('ERR_PROTOCOL', `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

const isNonNegInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isShortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/** Validates a HELLO payload field by field. */
export function decodeHello(payload: Buffer): Hello {
  const o = parseJson(payload, 'HELLO');
  if (!isNonNegInt(o.v)) throw sdkError('ERR_PROTOCOL', 'HELLO.v must be an integer');
  if (o.v !== PROTOCOL_VERSION) {
    throw sdkError('ERR_PROTOCOL_VERSION', `protocol version ${o.v} not supported (this side speaks ${PROTOCOL_VERSION})`);
  }
  if (!isShortString(o.clientId, 256)) throw sdkError('ERR_PROTOCOL', 'HELLO.clientId must be a string of 1..256 chars');
  if (!isNonNegInt(o.heartbeatMs)) throw sdkError('ERR_PROTOCOL', 'HELLO.heartbeatMs must be a non-negative integer');
  const hello: Hello = { v: o.v, clientId: o.clientId, heartbeatMs: o.heartbeatMs };
  if (o.sessionId !== undefined) {
    if (!isShortString(o.sessionId, 128)) throw sdkError('ERR_PROTOCOL', 'HELLO.sessionId must be a string of 1..128 chars');
    hello.sessionId = o.sessionId;
  }
  if (o.lastSeen !== undefined) {
    if (!isNonNegInt(o.lastSeen)) throw sdkError('ERR_PROTOCOL', 'HELLO.lastSeen must be a non-negative integer');
    hello.lastSeen = o.lastSeen;
  }
  if (o.maxFrameBytes !== undefined) {
    if (!isNonNegInt(o.maxFrameBytes) || o.maxFrameBytes < 64) throw sdkError('ERR_PROTOCOL', 'HELLO.maxFrameBytes must be an integer >= 64');
    hello.maxFrameBytes = o.maxFrameBytes;
  }
  if (o.token !== undefined) {
    if (typeof o.token !== 'string') throw sdkError('ERR_PROTOCOL', 'HELLO.token must be a string');
    hello.token = o.token;
  }
  return hello;
}

export function decodeWelcome(payload: Buffer): Welcome {
  const o = parseJson(payload, 'WELCOME');
  if (!isShortString(o.sessionId, 128)) throw sdkError('ERR_PROTOCOL', 'WELCOME.sessionId must be a string');
  for (const key of ['heartbeatMs', 'idleTimeoutMs', 'maxFrameBytes', 'acked'] as const) {
    if (!isNonNegInt(o[key])) throw sdkError('ERR_PROTOCOL', `WELCOME.${key} must be a non-negative integer`);
  }
  return {
    sessionId: o.sessionId,
    heartbeatMs: o.heartbeatMs as number,
    idleTimeoutMs: o.idleTimeoutMs as number,
    maxFrameBytes: o.maxFrameBytes as number,
    acked: o.acked as number,
    resumed: o.resumed === true,
  };
}

export function decodeErrorPayload(payload: Buffer): ErrorPayload {
  const o = parseJson(payload, 'ERROR');
  const code = typeof o.code === 'string' && o.code.length <= 64 ? o.code : 'ERR_PROTOCOL';
  const message = typeof o.message === 'string' ? o.message.slice(0, 1024) : 'peer sent an error';
  return { code, message };
}

/** An ERROR frame for a ResilientError. */
export function encodeError(err: ResilientError): Buffer {
  return encodeJson(FrameType.ERROR, { code: err.code, message: err.message });
}
