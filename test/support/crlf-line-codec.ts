/**
 * The project's lineCodec writing CRLF, as IRC requires (RFC 2812 §2.3).
 *
 * TO REPLACE with `lineCodec({ delimiter: '\r\n' })` once that option is on
 * main (issue 11, item 4). Until then: if the shipped lineCodec already
 * encodes with CRLF when asked, it is used as is; otherwise its encoder is
 * wrapped to append the CR. Decoding is the shipped one either way (it accepts
 * LF and CRLF).
 */
import { lineCodec, type Codec, type LineCodecOptions } from '../../src/index';

export function crlfLineCodec(options: LineCodecOptions = {}): Codec<string> {
  const codec = lineCodec({ ...options, delimiter: '\r\n' } as LineCodecOptions);
  if (Buffer.from(codec.encode('')).toString('latin1') === '\r\n') return codec;
  return {
    encode: (line) => {
      if (line.includes('\r')) throw new TypeError('IRC lines must not contain a CR');
      const lf = Buffer.from(codec.encode(line));
      return Buffer.concat([lf.subarray(0, lf.length - 1), Buffer.from('\r\n')]);
    },
    decoder: () => codec.decoder(),
  };
}
