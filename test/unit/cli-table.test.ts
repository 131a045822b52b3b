/**
 * The live table of `resilient-tcp serve` as pure text (src/cli/table.ts) and
 * the display-width rules it stands on (src/cli/term.ts).
 */
import type { ConnectionInfo } from '../../src/server/index';
import { tokenMatches } from '../../src/cli/serve';
import { renderTable, shortId } from '../../src/cli/table';
import { displayWidth, fit, printable } from '../../src/cli/term';

describe('displayWidth', () => {
  it.each([
    ['ascii', 'alice', 5],
    ['CJK ideographs count 2 each', '客户端', 6],
    ['Hangul syllables count 2', '한국', 4],
    ['fullwidth forms count 2', 'ＡＢ', 4],
    ['a combining acute accent counts 0', 'e\u0301', 1],
    ['an emoji counts 2', '👍', 2],
    ['an emoji with a skin tone is one cluster of 2', '👍🏽', 2],
    ['a ZWJ family is one cluster of 2', '👨\u200d👩\u200d👧', 2],
    ['a flag (two regional indicators) is 2', '🇫🇷', 2],
    ['a text symbol with VS16 is shown as emoji: 2', '❤\uFE0F', 2],
    ['the empty string', '', 0],
  ])('%s', (_name, s, width) => {
    expect(displayWidth(s)).toBe(width);
  });
});

describe('fit', () => {
  it('pads to the width', () => {
    expect(fit('ab', 5)).toBe('ab   ');
  });

  it('cuts with an ellipsis and still fills exactly the width', () => {
    expect(fit('abcdefgh', 5)).toBe('abcd…');
    expect(displayWidth(fit('客户端-上海-一号', 9))).toBe(9);
  });

  it('never splits a wide character at the edge', () => {
    // 4 cells for text + 1 for the ellipsis: two ideographs, no half of a third
    expect(fit('客户端', 5)).toBe('客户…');
    expect(fit('客户端', 4)).toBe('客… ');
  });

  it('replaces control characters, so a client id cannot send escape codes to the terminal', () => {
    expect(printable('evil\x1b[2Jid\r')).toBe('evil\uFFFD[2Jid\uFFFD');
    expect(fit('a\x1bb', 5)).not.toContain('\x1b');
  });
});

describe('renderTable', () => {
  const now = 1_000_000_000_000;
  const row = (id: string, clientId: string, i: number): ConnectionInfo => ({
    id, clientId, remoteAddress: '127.0.0.1', remotePort: 50_000 + i, connectedAt: now - 65_000,
    lastSeenAt: now - 1200, rttMs: 0.4 + i, messagesIn: 12 * i, messagesOut: 3 * i,
  });
  const rows = [row('a1b2c3d4e5f6', 'alice', 1), row('ffeeddccbbaa', '客户端-上海-一号', 2), row('0099887766', 'bob👍🏽', 3)];
  const view = { address: '127.0.0.1:7400', rows, now };

  /** Column starts of the header, in cells, and of each cell in a row (split on runs of 2+ spaces). */
  const starts = (line: string): number[] => {
    const out: number[] = [];
    const re = /(?:^|\s{2,})(\S)/gu;
    for (let m = re.exec(line); m; m = re.exec(line)) out.push(displayWidth(line.slice(0, m.index + m[0].length - m[1]!.length)));
    return out;
  };

  it('fits 80×24: every line within 80 cells, columns aligned under a Chinese client id', () => {
    const lines = renderTable(view, { columns: 80, rows: 24 });
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(80);
    expect(lines[0]).toBe('resilient-tcp serve  127.0.0.1:7400  3 connected  (Ctrl-C to stop)');
    expect(lines[2]).toMatch(/^client\s+remote\s+last seen\s+rtt\s+in\s+out$/);
    const body = lines.slice(3);
    expect(body).toHaveLength(3);
    expect(body[1]).toContain('客户端-上海-一号');
    for (const l of body) expect(starts(l)).toEqual(starts(lines[2]!));
  });

  it('fits 40×10 by dropping low-value columns first: client, last seen and rtt stay', () => {
    const lines = renderTable(view, { columns: 40, rows: 10 });
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(40);
    expect(lines[0]).toBe('127.0.0.1:7400  3 connected');
    expect(lines[2]).toMatch(/^client\s+last seen\s+rtt$/);
    for (const l of lines.slice(3)) expect(starts(l)).toEqual(starts(lines[2]!));
    expect(lines[4]).toMatch(/^客户端-上海-一号\s+1\.2 s ago\s+2\.4 ms$/);
  });

  it('cuts a long client id with an ellipsis instead of wrapping', () => {
    const long = row('x', '这是一个非常非常非常非常长的客户端标识符', 1);
    const lines = renderTable({ ...view, rows: [long] }, { columns: 40, rows: 10 });
    expect(lines[3]).toMatch(/…/);
    expect(displayWidth(lines[3]!)).toBeLessThanOrEqual(40);
  });

  it('never returns more lines than the terminal has, and counts the sessions left out', () => {
    const many = Array.from({ length: 50 }, (_, i) => row(`s${i}`, `client-${i}`, i));
    const lines = renderTable({ ...view, rows: many }, { columns: 40, rows: 10 });
    expect(lines).toHaveLength(10);
    expect(lines[9]).toMatch(/^… and 44 more/);
  });

  it('still fits a 20-column terminal', () => {
    for (const l of renderTable(view, { columns: 20, rows: 24 })) expect(displayWidth(l)).toBeLessThanOrEqual(20);
  });
});

describe('secrets in the serve command', () => {
  it('shortId keeps 8 characters of a session id and marks the cut', () => {
    expect(shortId('0f3c9a1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b')).toBe('0f3c9a1e…');
  });

  it('tokenMatches accepts only the exact token, whatever the lengths', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    for (const guess of [undefined, '', 's', 's3cre', 's3cret!', 'S3cret', 'x'.repeat(10_000)]) expect(tokenMatches(guess, 's3cret')).toBe(false);
  });
});
