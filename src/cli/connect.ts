/**
 * `resilient-tcp connect host:port`: an interactive line client. Typed lines
 * are sent, received lines printed; the prompt shows the state, RTT, and
 * while reconnecting the attempt, the next delay and what is queued.
 */
import * as readline from 'node:readline';
import { ResilientClient } from '../index';
import { UsageError, heartbeatFlag, hostPort, parseFlags } from './args';
import { displayWidth, paint, printable } from './term';

/** Width assumed when the terminal does not report one. */
const FALLBACK_COLUMNS = 80;

export const CONNECT_USAGE = `usage: resilient-tcp connect HOST:PORT [options]

Connects to a resilient-tcp server; each line you type is sent, each message
received is printed. The prompt shows the connection state.

options:
  --token T               credential for the server
  --client-id ID          name shown by the server (default: a random id)
  --heartbeat INT/TIMEOUT heartbeat interval and dead-link timeout in ms (default 5000/15000)
  -h, --help              this text
`;

export interface ConnectIo {
  input: NodeJS.ReadableStream;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  signal: AbortSignal;
}

export async function connect(argv: string[], io: ConnectIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { token: { type: 'string' }, 'client-id': { type: 'string' }, heartbeat: { type: 'string' } }, 1);
  if (values.help) {
    io.out.write(CONNECT_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('missing HOST:PORT');
  const { host, port } = hostPort(positionals[0]);
  const heartbeat = heartbeatFlag(values.heartbeat);
  const p = paint(io.out);
  const client = new ResilientClient({
    host,
    port,
    ...(heartbeat ? { heartbeat } : {}),
    // Interactive: never make a person wait long for the next attempt.
    reconnect: { initialDelayMs: 250, maxDelayMs: 5000 },
    ...(typeof values.token === 'string' ? { token: values.token } : {}),
    ...(typeof values['client-id'] === 'string' ? { clientId: values['client-id'] } : {}),
  });
  const tty = io.out.isTTY === true;
  const rl = readline.createInterface({ input: io.input, output: tty ? (io.out as NodeJS.WriteStream) : undefined, terminal: tty });
  let status = 'idle';
  /** Cells of the prompt on screen now (the status may have changed since). */
  let promptCells = 0;
  let inputClosed = false;
  const show = (line?: string): void => {
    if (tty && !inputClosed) {
      // Back to where the prompt starts (the typed line may wrap), clear it,
      // print the line, then redraw the prompt with what was typed so far.
      const term = io.out as NodeJS.WriteStream;
      const typed = promptCells + displayWidth(rl.line.slice(0, rl.cursor));
      readline.moveCursor(term, 0, -Math.floor(typed / (term.columns || FALLBACK_COLUMNS)));
      readline.cursorTo(term, 0);
      readline.clearScreenDown(term);
      if (line !== undefined) io.out.write(`${line}\n`);
      promptCells = displayWidth(`[${status}] > `);
      rl.setPrompt(`${p.dim(`[${status}]`)} > `);
      rl.prompt(true);
    } else if (line !== undefined) {
      io.out.write(`${line}\n`);
    }
  };
  /** A short state for the prompt, and optionally a line that says more. */
  const setStatus = (s: string, announce?: string): void => {
    status = s;
    show(announce === undefined ? undefined : p.dim(`-- ${announce}`));
  };

  client.on('open', ({ resumed }) => setStatus('open', `open${resumed ? ', resumed' : ''}`));
  client.on('heartbeat', ({ rttMs }) => setStatus(`open, rtt ${rttMs.toFixed(1)} ms`));
  // A lost link is announced by the retry line that follows it (one line per
  // retry, saying why); only a loss with no retry to come gets its own line.
  // A close we asked for (end of input, Ctrl-C) says nothing.
  client.on('close', ({ error, willReconnect }) => {
    if (error && !willReconnect) setStatus('lost', `lost: ${error.code}, not reconnecting`);
  });
  let attempt = 0;
  const away = (): string => `retry ${attempt}, ${client.stats().queued} queued`;
  client.on('reconnecting', (e) => {
    attempt = e.attempt;
    setStatus(away(), `reconnecting: attempt ${e.attempt}, next in ${e.delayMs} ms after ${e.error.code}, ${client.stats().queued} queued`);
  });
  client.on('giveUp', (err) => setStatus('gave up', `gave up: ${err.code}`));
  // Remote text: control characters shown, not obeyed, on a terminal.
  client.on('message', (payload) => show(tty ? printable(payload.toString('utf8')) : payload.toString('utf8')));

  const failed = client.connect().then(
    () => false,
    (err: { code?: string; message?: string }) => {
      show(p.red(`connect failed: ${err.code ?? ''} ${err.message ?? ''}`));
      return true;
    },
  );
  rl.on('line', (line) => {
    if (line.length === 0) return show();
    client.send(line).catch((err: { code?: string }) => show(p.red(`not sent (${err.code ?? 'error'}): ${line}`)));
    // While away, the prompt counts what waits to be sent.
    if (client.state !== 'open' && attempt > 0) setStatus(away());
  });
  show();
  const ended = new Promise<void>((resolve) => rl.once('close', () => resolve()));
  const aborted = new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
  const gaveUp = failed.then((f) => (f ? undefined : new Promise<void>(() => undefined)));
  await Promise.race([ended, aborted, gaveUp]);
  inputClosed = true;
  rl.close();
  await client.close();
  return (await Promise.race([failed, Promise.resolve(false)])) ? 1 : 0;
}
