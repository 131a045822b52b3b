/**
 * The command line (soak.ts runs it when started as a script):
 *   npx tsx test/soak/soak.ts --seconds N [--clients N] [--seed N]
 * prints the progress, the summary and PASS or FAIL; the exit code is 0 on a
 * pass, 1 on a failure, 2 on a bad argument.
 */
import type { SoakOptions, SoakResult } from './soak-types';
import { soakPassed } from './summary';

/** The options given by `argv`; throws a TypeError naming a bad or unknown argument. */
export function parseArgs(argv: string[]): SoakOptions {
  const out: SoakOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === '--seconds' || a === '--clients' || a === '--seed') {
      if (!Number.isFinite(v) || v < (a === '--seed' ? 0 : 1)) throw new TypeError(`${a} needs a number, got ${String(argv[i + 1])}`);
      if (a === '--seconds') out.seconds = v;
      else if (a === '--clients') out.clients = Math.floor(v);
      else out.seed = Math.floor(v);
      i++;
    } else {
      throw new TypeError(`unknown argument ${String(a)} (usage: soak.ts --seconds N [--clients N] [--seed N])`);
    }
  }
  return out;
}

/** Runs `run` with the options from `argv` and sets the exit code. */
export function runCli(argv: string[], run: (options: SoakOptions) => Promise<SoakResult>): void {
  let options: SoakOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  run(options)
    .then((r) => {
      const ok = soakPassed(r);
      console.log(ok ? 'soak: PASS' : 'soak: FAIL');
      process.exitCode = ok ? 0 : 1;
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
