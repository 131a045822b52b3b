/**
 * The `resilient-tcp` command: serve, connect, demo.
 */
import { UsageError } from './args';
import { CONNECT_USAGE, connect } from './connect';
import { SERVE_USAGE, serve } from './serve';
import { runDemo } from './demo';
import { packageVersion } from './version';

const USAGE = `usage: resilient-tcp <command> [options]

commands:
  serve                 run a HeartbeatServer that relays messages (live connection table)
  connect HOST:PORT     interactive line client that survives network failures
  demo                  server + client: a silent link caught, a session resumed, a restart survived

Run 'resilient-tcp <command> --help' for a command's options;
'resilient-tcp --version' prints the version.
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
      case '-v':
      case '--version':
      case 'version':
        io.out.write(`${packageVersion()}\n`);
        return 0;
      case 'serve':
        return await serve(rest, io);
      case 'connect':
        return await connect(rest, io);
      case 'demo':
        if (rest.includes('--help') || rest.includes('-h')) {
          io.out.write('usage: resilient-tcp demo\n\nStarts a server and a client on 127.0.0.1 (about 3 s): the link goes silent and the heartbeat catches it,\nthe session resumes with nothing lost, the server restarts and the queued messages arrive once.\n');
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

/** Exit status of a process ended by a second Ctrl-C (128 + SIGINT, the shell's convention). */
const EXIT_INTERRUPTED = 130;

function defaultIo(): CliIo {
  const ac = new AbortController();
  // The first Ctrl-C/SIGTERM closes gracefully; a second one while that
  // waits exits at once (through process.exit, so 'exit' handlers such as
  // the live table's screen restore still run).
  const stop = (): void => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED);
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
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
