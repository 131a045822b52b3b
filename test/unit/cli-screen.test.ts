/**
 * src/cli/screen.ts on a recording terminal: what bytes a frame is, and that
 * the normal screen comes back exactly once, whoever asks first.
 */
import { EventEmitter } from 'node:events';
import { openLiveScreen } from '../../src/cli/screen';

function fakeTerminal(columns: number, rows: number) {
  const t = Object.assign(new EventEmitter(), { columns, rows, written: [] as string[] });
  return Object.assign(t, { write: (s: string) => t.written.push(s) > 0 });
}

describe('openLiveScreen', () => {
  it('enters the alternate screen, draws a frame of exactly `rows` lines in place, and restores once', () => {
    const term = fakeTerminal(40, 5);
    const exitListeners = process.listenerCount('exit');
    const screen = openLiveScreen(term, () => undefined);
    expect(term.written.join('')).toBe('\x1b[?1049h\x1b[?25l');
    expect(process.listenerCount('exit')).toBe(exitListeners + 1);

    term.written.length = 0;
    screen.draw(['one', 'two']);
    const frame = term.written.join('');
    expect(frame.startsWith('\x1b[H')).toBe(true); // home, no clear: nothing goes to the scrollback
    expect(frame).not.toContain('\x1b[2J');
    expect(frame.split('\r\n')).toEqual(['\x1b[H\x1b[2Kone', '\x1b[2Ktwo', '\x1b[2K', '\x1b[2K', '\x1b[2K']);
    expect(frame.endsWith('\n')).toBe(false); // no newline below the bottom row: the screen never scrolls

    term.written.length = 0;
    screen.close();
    screen.close();
    screen.draw(['late']);
    expect(term.written).toEqual(['\x1b[?25h\x1b[?1049l']);
    expect(process.listenerCount('exit')).toBe(exitListeners);
    expect(term.listenerCount('resize')).toBe(0);
  });

  it('redraws on resize and reports the new size', () => {
    const term = fakeTerminal(80, 24);
    let redraws = 0;
    const screen = openLiveScreen(term, () => redraws++);
    term.columns = 100;
    term.emit('resize');
    expect(redraws).toBe(1);
    expect(screen.size()).toEqual({ columns: 100, rows: 24 });
    screen.close();
  });

  it('restores the normal screen before an uncaught exception is reported', () => {
    const term = fakeTerminal(80, 24);
    openLiveScreen(term, () => undefined);
    (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtExceptionMonitor', new Error('boom'), 'uncaughtException');
    expect(term.written.at(-1)).toBe('\x1b[?25h\x1b[?1049l');
    expect(process.listenerCount('uncaughtExceptionMonitor')).toBe(0);
  });
});
