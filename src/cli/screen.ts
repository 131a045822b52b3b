/**
 * A full-screen view on a terminal, drawn in place: the alternate screen
 * (xterm's private mode 1049, as `top` and `less` use) so nothing piles up in
 * the scrollback and the user's screen comes back untouched on exit. Each
 * frame homes the cursor and rewrites every line (erase-line first), never
 * writing a newline after the bottom row, so the screen never scrolls.
 *
 * The normal screen is restored by close(), and as a last resort on process
 * exit and before an uncaught exception is reported (so its stack trace is
 * readable), whoever forgets to call close().
 */
const ENTER = '\x1b[?1049h\x1b[?25l'; // alternate screen, hide the cursor
const LEAVE = '\x1b[?25h\x1b[?1049l'; // show the cursor, normal screen
const HOME = '\x1b[H';
const ERASE_LINE = '\x1b[2K';

/** What the view needs of a terminal stream (process.stdout on a TTY). */
export interface Terminal {
  write(s: string): boolean;
  columns?: number;
  rows?: number;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

export interface LiveScreen {
  /** Current size in cells (80×24 when the terminal does not say). */
  size(): { columns: number; rows: number };
  /** Replaces the screen's content by `lines` (each must fit the width). */
  draw(lines: readonly string[]): void;
  /** Back to the normal screen; idempotent. */
  close(): void;
}

/** Terminal size assumed when the stream reports none (the VT100's). */
const FALLBACK = { columns: 80, rows: 24 };

/** Enters the alternate screen on `term`; `onResize` is called when the window changes size. */
export function openLiveScreen(term: Terminal, onResize: () => void): LiveScreen {
  let open = true;
  const leave = (): void => {
    if (!open) return;
    open = false;
    term.off('resize', onResize);
    process.off('exit', leave);
    process.off('uncaughtExceptionMonitor', leave);
    term.write(LEAVE);
  };
  term.write(ENTER);
  term.on('resize', onResize);
  process.on('exit', leave);
  process.on('uncaughtExceptionMonitor', leave);
  const size = (): { columns: number; rows: number } => ({ columns: term.columns || FALLBACK.columns, rows: term.rows || FALLBACK.rows });
  return {
    size,
    draw(lines) {
      if (!open) return;
      const { rows } = size();
      const frame: string[] = [];
      for (let i = 0; i < rows; i++) frame.push(ERASE_LINE + (lines[i] ?? ''));
      term.write(HOME + frame.join('\r\n'));
    },
    close: leave,
  };
}
