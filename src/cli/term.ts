/**
 * Terminal text for the command: ANSI colours only on a TTY and without
 * NO_COLOR (https://no-color.org), so logs and pipes stay plain; and the
 * display width of a string in terminal cells, so a table of client ids in
 * any script stays aligned. Our own ~40 lines instead of `chalk` and
 * `string-width`: string-width is ESM-only since v5 and dist/cli.cjs is
 * CommonJS, and Node's Intl.Segmenter already splits grapheme clusters.
 */
export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

export function paint(stream: NodeJS.WriteStream | { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), yellow: wrap(33, 39), red: wrap(31, 39), cyan: wrap(36, 39) };
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** Marks, format characters (ZWJ, …) and variation selectors take no cell of their own. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
/** Emoji shown as pictures (U+1F600 …, flags) or forced to by VS16 (U+FE0F) take two cells. */
const EMOJI = /\p{Emoji_Presentation}|\uFE0F/u;
/** C0/C1 controls: a client id is remote input and must not move our cursor or colour our screen. */
const CONTROL = /\p{Cc}/gu;

/**
 * East Asian Wide and Fullwidth blocks (Unicode UAX #11): Hangul Jamo, CJK
 * radicals to Yi, Hangul syllables, CJK compatibility, fullwidth forms, and
 * the supplementary ideographic planes 2 and 3.
 */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf],
  [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

function isWide(cp: number): boolean {
  return WIDE.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** Cells one grapheme cluster takes: 0, 1 or 2. */
function clusterWidth(g: string): number {
  if (ZERO_WIDTH.test(g)) return 0;
  if (EMOJI.test(g)) return 2;
  return isWide(g.codePointAt(0) ?? 0) ? 2 : 1;
}

/** Replaces control characters (ESC, CR, …) by U+FFFD so remote text cannot drive the terminal. */
export function printable(s: string): string {
  return s.replace(CONTROL, '\uFFFD');
}

/** Terminal cells `s` takes: CJK and emoji count 2, combining marks 0. `s` must hold no escape codes. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const { segment } of graphemes.segment(s)) w += clusterWidth(segment);
  return w;
}

/**
 * `s` cut to at most `width` cells, ending in "…" when cut, then padded with
 * spaces to exactly `width` cells (unless `pad` is false). A wide character
 * that would straddle the edge is dropped, never split.
 */
export function fit(s: string, width: number, pad = true): string {
  if (width <= 0) return '';
  const text = printable(s);
  const full = displayWidth(text);
  if (full <= width) return pad ? text + ' '.repeat(width - full) : text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = clusterWidth(segment);
    if (used + w > width - 1) break; // one cell for the ellipsis
    out += segment;
    used += w;
  }
  out += '…';
  used += 1;
  return pad ? out + ' '.repeat(width - used) : out;
}

/** "12.3 s ago", "4 min ago". */
export function ago(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
