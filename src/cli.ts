/**
 * The `resilient-tcp` command. Sub-commands: demo (more to come: serve, connect).
 */
import { runDemo } from './demo';

const USAGE = `usage: resilient-tcp <command>

commands:
  demo     start a server and a client, stop and restart the server, show the reconnect
`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'demo') {
    if (rest.includes('--help')) {
      process.stdout.write('usage: resilient-tcp demo\n');
      return 0;
    }
    await runDemo();
    return 0;
  }
  process.stderr.write(`resilient-tcp: unknown command '${cmd}' (try --help)\n`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`resilient-tcp: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
