/**
 * `resilient-tcp connect host:port`: an interactive line client. Typed lines
 * are sent, received lines printed; the prompt shows the state, RTT, and
 * while reconnecting the attempt, the next delay and what is queued.
 */
import * as readline from 'node:readline';
import { ResilientClient } from '../client/client';
import { UsageError, heartbeatFlag, hostPort, parseFlags } from './args';
import { paint } from './term';

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
  const show = (line?: string): void => {
    if (tty) {
      readline.clearLine(io.out as NodeJS.WriteStream, 0);
      readline.cursorTo(io.out as NodeJS.WriteStream, 0);
      if (line !== undefined) io.out.write(`${line}\n`);
      rl.setPrompt(`${p.dim(`[${status}]`)} > `);
      rl.prompt(true);
    } else if (line !== undefined) {
      io.out.write(`${line}\n`);
    }
  };
  const setStatus = (s: string, announce: boolean): void => {
    status = s;
    show(announce ? p.dim(`-- ${s}`) : undefined);
  };

  client.on('open', ({ resumed }) => setStatus(`open${resumed ? ', resumed' : ''}`, true));
  client.on('heartbeat', ({ rttMs }) => setStatus(`open, rtt ${rttMs.toFixed(1)} ms`, false));
  client.on('close', ({ error }) => setStatus(`lost: ${error?.code ?? 'closed'}`, true));
  let retry = '';
  client.on('reconnecting', ({ attempt, delayMs, error }) => {
    retry = `reconnecting: attempt ${attempt}, next in ${delayMs} ms after ${error.code}`;
    setStatus(`${retry}, ${client.stats().queued} queued`, true);
  });
  client.on('giveUp', (err) => setStatus(`gave up: ${err.code}`, true));
  client.on('message', (payload) => show(payload.toString('utf8')));

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
    if (client.state !== 'open' && retry) setStatus(`${retry}, ${client.stats().queued} queued`, false);
  });
  show();
  const ended = new Promise<void>((resolve) => rl.once('close', () => resolve()));
  const aborted = new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
  const gaveUp = failed.then((f) => (f ? undefined : new Promise<void>(() => undefined)));
  await Promise.race([ended, aborted, gaveUp]);
  rl.close();
  await client.close();
  return (await Promise.race([failed, Promise.resolve(false)])) ? 1 : 0;
}
