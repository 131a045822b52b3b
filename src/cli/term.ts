/**
 * Terminal output for the command: ANSI colours only on a TTY and without
 * NO_COLOR (https://no-color.org), so logs and pipes stay plain. A dozen lines
 * of our own instead of a colour dependency.
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

/** Pads or cuts to a column width. */
export function col(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width);
}

/** "12.3 s ago", "4 min ago". */
export function ago(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms ago`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
