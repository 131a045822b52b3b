/**
 * User codecs for servers that do not speak the native protocol, and the
 * shipped `lineCodec` (newline-delimited UTF-8).
 *
 * A codec turns messages into bytes and bytes back into messages. A decoder is
 * made per connection; it must throw a ResilientError (ERR_FRAME_TOO_LARGE or
 * ERR_PROTOCOL) on bad input and must never buffer more than its own bound.
 */
import { sdkError } from '../core/errors';

export interface Decoder<M> {
  /** Adds a chunk; returns the messages it completes. */
  push(chunk: Uint8Array): M[];
}

export interface Codec<M> {
  encode(message: M): Uint8Array;
  decoder(): Decoder<M>;
}

export interface LineCodecOptions {
  /** Bound on one line, in bytes, without its newline. @default 65536 */
  maxLineBytes?: number;
}

const NL = 0x0a;

/**
 * Newline-delimited UTF-8 strings. `encode('hi')` is `hi\n`; a trailing `\r`
 * is stripped on decode. A line longer than maxLineBytes throws
 * ERR_FRAME_TOO_LARGE as soon as that many bytes arrived without a newline.
 */
export function lineCodec(options: LineCodecOptions = {}): Codec<string> {
  const max = options.maxLineBytes ?? 65_536;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new TypeError(`options.maxLineBytes must be an integer >= 1, got ${String(max)}`);
  }
  return {
    encode(message: string): Uint8Array {
      if (typeof message !== 'string') throw new TypeError(`lineCodec encodes strings, got ${typeof message}`);
      if (message.includes('\n')) throw new TypeError('lineCodec messages must not contain a newline');
      return Buffer.from(`${message}\n`, 'utf8');
    },
    decoder(): Decoder<string> {
      let parts: Buffer[] = [];
      let partial = 0;
      return {
        push(chunk: Uint8Array): string[] {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          const out: string[] = [];
          let start = 0;
          // Scan only the new bytes: the pending part is never re-scanned.
          for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
            const piece = buf.subarray(start, nl);
            if (partial + piece.length > max) throw tooLong(max);
            const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece], partial + piece.length);
            parts = [];
            partial = 0;
            let text = line.toString('utf8');
            if (text.endsWith('\r')) text = text.slice(0, -1);
            out.push(text);
            start = nl + 1;
          }
          if (start < buf.length) {
            const rest = buf.subarray(start);
            if (partial + rest.length > max) throw tooLong(max);
            parts.push(rest);
            partial += rest.length;
          }
          return out;
        },
      };
    },
  };
}

function tooLong(max: number): Error {
  return sdkError('ERR_FRAME_TOO_LARGE', `line longer than maxLineBytes (${max})`);
}
