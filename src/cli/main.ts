/**
 * The `resilient-tcp` command: serve, connect, demo.
 */
import { UsageError } from './args';
import { CONNECT_USAGE, connect } from './connect';
import { SERVE_USAGE, serve } from './serve';
import { runDemo } from './demo';

const USAGE = `usage: resilient-tcp <command> [options]

commands:
  serve                 run a HeartbeatServer that relays messages (live connection table)
  connect HOST:PORT     interactive line client that survives network failures
  demo                  server + client: heartbeats, outage, backoff, restart, queued messages arrive

Run 'resilient-tcp <command> --help' for a command's options.
`;

export interface CliIo {
  input: NodeJS.ReadableStream;
  out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean };
  err: { write(s: string): boolean };
  signal: AbortSignal;
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
        io.err.write(USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        io.out.write(USAGE);
        return 0;
      case 'serve':
        return await serve(rest, io);
      case 'connect':
        return await connect(rest, io);
      case 'demo':
        if (rest.includes('--help') || rest.includes('-h')) {
          io.out.write('usage: resilient-tcp demo\n\nStarts a server and a client on 127.0.0.1 and shows a server outage and recovery (about 3 s).\n');
          return 0;
        }
        if (rest.length > 0) throw new UsageError(`demo takes no arguments, got '${rest[0]}'`);
        await runDemo((line) => io.out.write(`${line}\n`));
        return 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`resilient-tcp: ${err.message} (see --help)\n`);
      return 2;
    }
    throw err;
  }
}

function defaultIo(): CliIo {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { input: process.stdin, out: process.stdout, err: process.stderr, signal: ac.signal };
}

/** Keep both usages reachable for the tests and docs. */
export const USAGES = { main: USAGE, serve: SERVE_USAGE, connect: CONNECT_USAGE };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // SIGINT/SIGTERM listeners must not keep a finished command alive.
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      process.stdin.pause();
    },
    (err: unknown) => {
      process.stderr.write(`resilient-tcp: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
