/**
 * The `logger` option is called pino-style, `(fields, msg)`: a pino-shaped
 * collector gets structured fields, and `console` prints both.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { ResilientClient, ResilientError, type Logger } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';

type Entry = { level: string; fields: Record<string, unknown>; msg: string };

/** The call shape of a pino logger (`level`, `child`, `info(obj, msg)`), collecting instead of writing. */
function pinoShaped(): Logger & { level: string; child(): unknown; entries: Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void =>
      void entries.push({ level, fields, msg });
  return { level: 'debug', child: () => undefined, entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('logger', () => {
  const cleanup = useCleanup();

  it('pino-shaped: state changes as { from, to, code } with the line as message; an ended connection at debug with { remote, code, err }', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const logger = pinoShaped();
    const client = new ResilientClient({ host: '127.0.0.1', port, logger, reconnect: false });
    cleanup.push(() => client.close(), () => server.close());
    client.on('error', () => {});
    await client.connect();
    const failed = waitFor(client, 'giveUp');
    await server.close(); // BYE: the connection ends, reconnect is off
    await failed;
    expect(logger.entries.filter((e) => e.level !== 'debug')).toEqual([
      { level: 'info', fields: { from: 'idle', to: 'connecting' }, msg: 'idle -> connecting' },
      { level: 'info', fields: { from: 'connecting', to: 'open' }, msg: 'connecting -> open' },
      { level: 'warn', fields: { from: 'open', to: 'failed', code: 'ERR_SERVER_BYE' }, msg: 'open -> failed (ERR_SERVER_BYE)' },
    ]);
    const ended = logger.entries.find((e) => e.level === 'debug');
    expect(ended?.fields).toMatchObject({ remote: `127.0.0.1:${port}`, code: 'ERR_SERVER_BYE', err: expect.any(ResilientError) });
    expect(ended?.msg).toMatch(/^connection to 127\.0\.0\.1:\d+ ended: ERR_SERVER_BYE /);
  });

  it('a console prints the fields and the line', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    let text = '';
    const out = new Writable({ write: (chunk: Buffer, _enc, done) => ((text += chunk.toString()), done()) });
    const logger = new Console({ stdout: out, stderr: out });
    const client = new ResilientClient({ host: '127.0.0.1', port, logger });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    await client.close();
    expect(text).toContain("{ from: 'connecting', to: 'open' } connecting -> open");
    expect(text).toContain("{ from: 'closing', to: 'closed' } closing -> closed");
  });
});
