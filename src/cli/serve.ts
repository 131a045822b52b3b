/**
 * `resilient-tcp serve`: a HeartbeatServer that relays every message to all
 * sessions (a chat room), with a live connection table on a terminal, plain
 * event lines in a pipe, or one JSON line per event with --json.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HeartbeatServer } from '../server/index';
import { UsageError, intFlag, parseFlags } from './args';
import { openLiveScreen, type LiveScreen, type Terminal } from './screen';
import { renderTable, shortId } from './table';
import { paint } from './term';

/** How often the live table is redrawn (its ages tick in tenths of a second). */
const REDRAW_MS = 500;

export const SERVE_USAGE = `usage: resilient-tcp serve [options]

Runs a HeartbeatServer that relays each message to every connected session.

options:
  --port N              port to listen on (default 7400; 0 picks one)
  --host ADDR           address to bind (default 127.0.0.1)
  --idle-timeout MS     close connections silent this long (default 30000)
  --max-connections N   refuse connections beyond N (default 10000)
  --token T             accept only clients presenting this token
  --json                one JSON line per event instead of the table
  -h, --help            this text
`;

/**
 * The `--token` check: constant time, whatever the lengths (timingSafeEqual
 * over SHA-256 digests, which are always 32 bytes), so the time taken says
 * nothing about how much of the token a guess got right.
 */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (t: string): Buffer => createHash('sha256').update(t, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export interface ServeIo {
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  signal: AbortSignal;
}

export async function serve(argv: string[], io: ServeIo): Promise<number> {
  const { values } = parseFlags(
    argv,
    { port: { type: 'string' }, host: { type: 'string' }, 'idle-timeout': { type: 'string' }, 'max-connections': { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' } },
    0,
  );
  if (values.help) {
    io.out.write(SERVE_USAGE);
    return 0;
  }
  const token = values.token as string | undefined;
  if (values.token === '') throw new UsageError('--token must not be empty');
  const server = new HeartbeatServer({
    port: intFlag('port', values.port, 0, 65535) ?? 7400,
    host: (values.host as string | undefined) ?? '127.0.0.1',
    idleTimeoutMs: intFlag('idle-timeout', values['idle-timeout'], 1) ?? 30_000,
    maxConnections: intFlag('max-connections', values['max-connections'], 1) ?? 10_000,
    ...(token !== undefined ? { authenticate: (c: { token: string | undefined }) => tokenMatches(c.token, token) } : {}),
  });
  const json = values.json === true;
  const table = !json && io.out.isTTY === true;
  const p = paint(io.out);
  const emit = (event: string, fields: Record<string, unknown>, line: string): void => {
    if (json) io.out.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
    else if (!table) io.out.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
  };

  server.on('connection', (s, info) =>
    emit('connection', { session: shortId(s.id), clientId: s.clientId, remote: `${info.remoteAddress}:${info.remotePort}`, resumed: info.resumed },
      `${p.green('+')} ${s.clientId} from ${info.remoteAddress}:${info.remotePort}${info.resumed ? ' (resumed)' : ''}`),
  );
  server.on('disconnect', (s, err) => emit('disconnect', { session: shortId(s.id), clientId: s.clientId, code: err?.code ?? null }, `${p.yellow('-')} ${s.clientId} ${err?.code ?? ''}`));
  server.on('sessionEnd', (s, err) => emit('sessionEnd', { session: shortId(s.id), clientId: s.clientId, code: err?.code ?? null }, `${p.dim('x')} ${s.clientId} session ended`));
  server.on('error', (err, peer) => emit('error', { code: err.code, message: err.message, remote: `${peer.remoteAddress}:${peer.remotePort}` }, `${p.red('!')} ${err.code} ${peer.remoteAddress}:${peer.remotePort}`));
  server.on('message', (from, payload, meta) => {
    const text = payload.toString('utf8');
    emit('message', { session: shortId(from.id), clientId: from.clientId, id: meta.id, bytes: payload.length }, `${from.clientId}: ${text}`);
    // Relay to every session (the sender sees its own line come back: proof it went round).
    for (const row of server.connections()) {
      void server.session(row.id)?.send(`${from.clientId}: ${text}`).catch(() => undefined);
    }
  });

  const { host, port } = await server.listen();
  emit('listening', { host, port }, `listening on ${host}:${port}`);

  // The table lives on the alternate screen and is redrawn in place; the
  // normal screen comes back on every way out (see screen.ts).
  let timer: NodeJS.Timeout | undefined;
  let screen: LiveScreen | undefined;
  try {
    if (table) {
      const draw = (): void => screen?.draw(renderTable({ address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, rows: server.connections(), now: Date.now() }, screen.size(), p));
      screen = openLiveScreen(io.out as Terminal, draw);
      draw();
      timer = setInterval(draw, REDRAW_MS);
    }
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    if (timer) clearInterval(timer);
    screen?.close();
    await server.close();
  }
  // After the alternate screen is gone: the last word on the normal screen.
  if (table) io.out.write('server closed\n');
  else emit('close', {}, 'server closed');
  return 0;
}
