/**
 * The live connection table of `resilient-tcp serve`, as pure text: given the
 * rows and the terminal size, the lines to show. No I/O here (screen.ts draws
 * them), so any size can be tested. Every line fits `columns` display cells;
 * at most `rows` lines come back. On a narrow terminal the low-value columns
 * go first (connected since, session id, remote address, counters); the
 * client id and its liveness (last seen, RTT) stay.
 */
import type { ConnectionInfo } from '../server/index';
import { ago, displayWidth, fit, printable, type Paint } from './term';

export interface TableView {
  /** "host:port" the server listens on. */
  address: string;
  rows: readonly ConnectionInfo[];
  /** Epoch ms the ages are measured from. */
  now: number;
}

export interface TermSize {
  columns: number;
  rows: number;
}

interface Column {
  title: string;
  /** Cells when there is room. */
  width: number;
  cell(r: ConnectionInfo, now: number): string;
}

/** Spaces between two columns. */
const GAP = 1;
/** The client column never shrinks below this many cells (then lines are cut instead). */
const MIN_CLIENT = 6;
/** …and grows up to this many when there is room and an id is that long. */
const MAX_CLIENT = 32;

const CLIENT: Column = { title: 'client', width: 16, cell: (r) => r.clientId };
const RTT: Column = { title: 'rtt', width: 9, cell: (r) => (r.rttMs === undefined ? '-' : `${r.rttMs.toFixed(1)} ms`) };
const LAST_SEEN: Column = { title: 'last seen', width: 12, cell: (r, now) => ago(now - r.lastSeenAt) };
const IN: Column = { title: 'in', width: 7, cell: (r) => String(r.messagesIn) };
const OUT: Column = { title: 'out', width: 7, cell: (r) => String(r.messagesOut) };
const REMOTE: Column = { title: 'remote', width: 22, cell: (r) => `${r.remoteAddress ?? '?'}:${r.remotePort ?? '?'}` };
const SESSION: Column = { title: 'session', width: 10, cell: (r) => shortId(r.id) };
const CONNECTED: Column = { title: 'connected', width: 14, cell: (r, now) => ago(now - r.connectedAt) };

/** Display order. */
const ORDER: readonly Column[] = [SESSION, CLIENT, REMOTE, CONNECTED, LAST_SEEN, RTT, IN, OUT];
/** Dropped first to last when the terminal is too narrow; CLIENT and RTT always stay. */
const DROP: readonly Column[] = [CONNECTED, SESSION, REMOTE, OUT, IN, LAST_SEEN];

const identity = (s: string): string => s;
const PLAIN: Paint = { bold: identity, dim: identity, green: identity, yellow: identity, red: identity, cyan: identity };

const total = (widths: ReadonlyMap<Column, number>): number => [...widths.values()].reduce((a, w) => a + w, 0) + GAP * Math.max(0, widths.size - 1);

/** The columns that fit, with their widths. */
function layout(rows: readonly ConnectionInfo[], columns: number): Map<Column, number> {
  const widths = new Map(ORDER.map((c) => [c, c.width]));
  for (const c of DROP) {
    if (total(widths) <= columns) break;
    widths.delete(c);
  }
  const over = total(widths) - columns;
  const client = widths.get(CLIENT) ?? CLIENT.width;
  if (over > 0) {
    widths.set(CLIENT, Math.max(MIN_CLIENT, client - over));
  } else {
    const longest = Math.max(0, ...rows.map((r) => displayWidth(printable(r.clientId)) + 1));
    widths.set(CLIENT, Math.min(MAX_CLIENT, Math.max(client, Math.min(longest, client - over))));
  }
  return widths;
}

/** The header: address first, then the count, the name and the hint while they fit. */
function header(view: TableView, columns: number): string {
  const parts = [`resilient-tcp serve`, view.address, `${view.rows.length} connected`, '(Ctrl-C to stop)'];
  for (const drop of ['(Ctrl-C to stop)', 'resilient-tcp serve']) {
    if (displayWidth(parts.join('  ')) <= columns) break;
    parts.splice(parts.indexOf(drop), 1);
  }
  return fit(parts.join('  '), columns, false);
}

/**
 * A session id as logs and the table show it: its first 8 characters and '…'.
 * The full id with the clientId (and the token, with `--token`) resumes the
 * session, so it never goes to a log or a screen.
 */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

/**
 * The table for a terminal of `size`: at most `size.rows` lines, each at most
 * `size.columns` cells wide; sessions that do not fit are counted on the last line.
 */
export function renderTable(view: TableView, size: TermSize, p: Paint = PLAIN): string[] {
  const columns = Math.max(1, Math.floor(size.columns));
  const height = Math.max(1, Math.floor(size.rows));
  const widths = layout(view.rows, columns);
  const line = (cells: string[]): string => fit(cells.join(' '.repeat(GAP)).trimEnd(), columns, false);
  const cols = [...widths.entries()];
  const lines = [p.bold(header(view, columns)), '', p.dim(line(cols.map(([c, w]) => fit(c.title, w))))];
  const room = height - lines.length;
  const shown = view.rows.length > room ? Math.max(0, room - 1) : view.rows.length;
  for (const r of view.rows.slice(0, shown)) lines.push(line(cols.map(([c, w]) => fit(c.cell(r, view.now), w))));
  if (shown < view.rows.length) lines.push(p.dim(fit(`… and ${view.rows.length - shown} more (--json logs every event)`, columns, false)));
  return lines.slice(0, height);
}
