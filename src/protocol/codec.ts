/**
 * User codecs for servers that do not speak the native protocol, and the
 * shipped `lineCodec` (newline-delimited UTF-8).
 *
 * A codec turns messages into bytes and bytes back into messages. A decoder is
 * made per connection; it must throw a ResilientError (ERR_FRAME_TOO_LARGE or
 * ERR_PROTOCOL) on bad input and must never buffer more than its own bound.
 */
import { sdkError } from '../core/errors';
import { PartialBuffer } from './partial-buffer';

export interface Decoder<M> {
  /** Adds a chunk; returns the messages it completes. */
  push(chunk: Uint8Array): M[];
}

export interface Codec<M> {
  encode(message: M): Uint8Array;
  decoder(): Decoder<M>;
}

export interface LineCodecOptions {
  /** Bound on one line, in bytes, without its delimiter (LF or CRLF). @default 65536 */
  maxLineBytes?: number;
  /**
   * What `encode` ends each line with: `'\n'` or `'\r\n'` (IRC, SMTP, many
   * device protocols). Decoding accepts either whatever this is. @default '\n'
   */
  delimiter?: LineDelimiter;
}

/** The line end `lineCodec` writes: LF, or CRLF. */
export type LineDelimiter = '\n' | '\r\n';

/** lineCodec's defaults (docs/client.md). */
const LINE_CODEC_DEFAULTS = Object.freeze({ maxLineBytes: 65_536, delimiter: '\n' as LineDelimiter });

const LF = 0x0a;
const CR = 0x0d;

/**
 * Newline-delimited UTF-8 strings. `encode('hi')` is `hi\n` (or `hi\r\n`
 * with `delimiter: '\r\n'`); decoding splits at LF and strips a CR before
 * it. A line longer than maxLineBytes throws ERR_FRAME_TOO_LARGE as soon as
 * more bytes than that arrived without a delimiter.
 */
export function lineCodec(options: LineCodecOptions = {}): Codec<string> {
  const max = options.maxLineBytes ?? LINE_CODEC_DEFAULTS.maxLineBytes;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new TypeError(`options.maxLineBytes must be an integer >= 1, got ${String(max)}`);
  }
  const delimiter = options.delimiter ?? LINE_CODEC_DEFAULTS.delimiter;
  if (delimiter !== '\n' && delimiter !== '\r\n') {
    throw new TypeError(`options.delimiter must be '\\n' or '\\r\\n', got ${JSON.stringify(delimiter) ?? String(delimiter)}`);
  }
  return {
    encode(message: string): Uint8Array {
      if (typeof message !== 'string') throw new TypeError(`lineCodec encodes strings, got ${typeof message}`);
      if (message.includes('\n')) throw new TypeError('lineCodec messages must not contain a newline');
      return Buffer.from(message + delimiter, 'utf8');
    },
    decoder: () => new LineDecoder(max),
  };
}

/**
 * Splits at LF. A line inside one chunk is decoded straight from it; the
 * unfinished tail of a chunk is copied into one PartialBuffer that doubles up
 * to the bound (src/protocol/partial-buffer.ts), so a peer trickling a line
 * costs at most about twice its bytes, never a Buffer per chunk.
 */
class LineDecoder implements Decoder<string> {
  private readonly partial = new PartialBuffer();
  /** The most a partial line may hold: the bound, plus the CR of a CRLF still to come. */
  private readonly limit: number;

  constructor(private readonly max: number) {
    this.limit = max + 1;
  }

  push(chunk: Uint8Array): string[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: string[] = [];
    let start = 0;
    // Scan only the new bytes: the partial line is never re-scanned.
    for (let lf = buf.indexOf(LF, start); lf !== -1; lf = buf.indexOf(LF, start)) {
      if (this.partial.length === 0) {
        out.push(this.text(buf, start, lf));
      } else {
        this.hold(buf, start, lf);
        const line = this.partial.take();
        out.push(this.text(line, 0, line.length));
      }
      start = lf + 1;
    }
    if (start < buf.length) this.hold(buf, start, buf.length);
    return out;
  }

  /** Appends to the partial line, throwing once it is certainly longer than the bound. */
  private hold(buf: Buffer, start: number, end: number): void {
    const total = this.partial.length + (end - start);
    // One byte over the bound is allowed while it may be the CR of a CRLF.
    const lastIsCr = (end > start ? buf[end - 1] : this.partial.last()) === CR;
    if (total > this.limit || (total === this.limit && !lastIsCr)) throw tooLong(this.max);
    this.partial.append(buf, start, end, this.limit);
  }

  /** The line in buf[start, end) without a trailing CR, checked against the bound. */
  private text(buf: Buffer, start: number, end: number): string {
    if (end > start && buf[end - 1] === CR) end--;
    if (end - start > this.max) throw tooLong(this.max);
    return buf.toString('utf8', start, end);
  }
}

function tooLong(max: number): Error {
  return sdkError('ERR_FRAME_TOO_LARGE', `line longer than maxLineBytes (${max})`);
}
