/**
 * A RESP2 codec for Redis (protocol: https://redis.io/docs/latest/develop/reference/protocol-spec/).
 * Commands are encoded as arrays of bulk strings (`['SET', 'k', 'v']`);
 * replies decode to strings (simple and bulk), numbers, null (a null bulk or
 * array), RespError (`-ERR …`) and arrays, nested. Strings are UTF-8 and
 * integers are JavaScript numbers (exact up to 2^53).
 *
 * Bounded: a reply larger than maxReplyBytes throws ERR_FRAME_TOO_LARGE as
 * soon as its size is known or its bytes pass the bound; malformed input
 * throws ERR_PROTOCOL. Each element is parsed once (open arrays wait on a
 * stack), and unparsed bytes live in one growing buffer.
 */
import { ResilientError, type Codec, type Decoder } from '../../src/index';
import { ByteBuffer } from '../shared/byte-buffer';

/** An error reply, e.g. `-WRONGPASS invalid username-password pair`. */
export class RespError {
  constructor(readonly message: string) {}
}

export type RespValue = string | number | null | RespError | RespValue[];

export interface RespCodecOptions {
  /** Bound on one reply, in bytes, arrays included. @default 1048576 (1 MiB) */
  maxReplyBytes?: number;
}

const DEFAULT_MAX_REPLY_BYTES = 1024 * 1024;
/** Arrays nested deeper than this are refused (Redis replies nest 2 or 3 deep). */
const MAX_DEPTH = 32;
/** The smallest element, `+\r\n`: an array of n elements needs at least 3n bytes. */
const MIN_ELEMENT_BYTES = 3;

export function respCodec(options: RespCodecOptions = {}): Codec<RespValue> {
  const max = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`options.maxReplyBytes must be an integer >= 1, got ${String(max)}`);
  return { encode: encodeCommand, decoder: () => new RespDecoder(max) };
}

function encodeCommand(command: RespValue): Uint8Array {
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string' || typeof a === 'number')) {
    throw new TypeError('respCodec encodes a command: a non-empty array of strings or numbers');
  }
  const args = command.map((a) => `$${Buffer.byteLength(String(a))}\r\n${String(a)}\r\n`);
  return Buffer.from(`*${command.length}\r\n${args.join('')}`, 'utf8');
}

const INCOMPLETE = Symbol('incomplete');
const OPENED = Symbol('array opened');

class RespDecoder implements Decoder<RespValue> {
  private readonly bytes = new ByteBuffer();
  private readonly open: Array<{ count: number; items: RespValue[] }> = [];
  /** Bytes of the reply in progress already parsed into `open`. */
  private replyBytes = 0;
  /** How far the buffer was searched for CRLF without finding one: a trickled line is scanned once. */
  private scanned = 0;

  constructor(private readonly max: number) {}

  push(chunk: Uint8Array): RespValue[] {
    this.bytes.append(chunk);
    const out: RespValue[] = [];
    for (let v = this.element(); v !== INCOMPLETE; v = this.element()) {
      if (v === OPENED) continue;
      const reply = this.fold(v);
      if (reply !== undefined) out.push(reply);
    }
    if (this.replyBytes + this.bytes.length > this.max) throw tooLarge(this.max);
    return out;
  }

  /** Adds a finished element to the open arrays; returns the reply once the outermost one is complete. */
  private fold(value: RespValue): RespValue | undefined {
    for (let top = this.open.at(-1); top; top = this.open.at(-1)) {
      top.items.push(value);
      if (top.items.length < top.count) return undefined;
      this.open.pop();
      value = top.items;
    }
    this.replyBytes = 0;
    return value;
  }

  /** Parses one element at the front of the buffer. */
  private element(): RespValue | typeof INCOMPLETE | typeof OPENED {
    const buf = this.bytes.view();
    const eol = buf.indexOf('\r\n', Math.max(0, this.scanned - 1));
    if (eol === -1) {
      this.scanned = buf.length;
      return INCOMPLETE;
    }
    const line = buf.toString('utf8', 1, eol);
    switch (buf[0]) {
      case 0x2b /* + */:
        return this.take(eol + 2, line);
      case 0x2d /* - */:
        return this.take(eol + 2, new RespError(line));
      case 0x3a /* : */:
        return this.take(eol + 2, integer(line));
      case 0x24 /* $ */: {
        const n = integer(line);
        if (n < -1) throw protocol(`bulk length ${n}`);
        if (n === -1) return this.take(eol + 2, null);
        const size = eol + 2 + n + 2;
        if (this.replyBytes + size > this.max) throw tooLarge(this.max);
        if (buf.length < size) return INCOMPLETE;
        if (buf[size - 2] !== 0x0d || buf[size - 1] !== 0x0a) throw protocol('bulk string not followed by CRLF');
        return this.take(size, buf.toString('utf8', eol + 2, size - 2));
      }
      case 0x2a /* * */: {
        const n = integer(line);
        if (n < -1) throw protocol(`array length ${n}`);
        if (n <= 0) return this.take(eol + 2, n === -1 ? null : []);
        if (this.replyBytes + n * MIN_ELEMENT_BYTES > this.max) throw tooLarge(this.max);
        if (this.open.length >= MAX_DEPTH) throw protocol(`arrays nested deeper than ${MAX_DEPTH}`);
        this.take(eol + 2, null);
        this.open.push({ count: n, items: [] });
        return OPENED;
      }
      default:
        throw protocol(`unknown reply type byte 0x${(buf[0] ?? 0).toString(16)}`);
    }
  }

  private take<T>(n: number, value: T): T {
    this.replyBytes += n;
    if (this.replyBytes > this.max) throw tooLarge(this.max);
    this.bytes.consume(n);
    this.scanned = 0;
    return value;
  }
}

function integer(text: string): number {
  if (!/^-?\d{1,20}$/.test(text)) throw protocol(`not an integer: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

function protocol(what: string): ResilientError {
  return new ResilientError('ERR_PROTOCOL', `RESP: ${what}`, 'unavailable');
}

function tooLarge(max: number): ResilientError {
  return new ResilientError('ERR_FRAME_TOO_LARGE', `RESP reply larger than maxReplyBytes (${max})`, 'unavailable');
}
