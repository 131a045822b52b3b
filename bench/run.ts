/**
 * Runs every benchmark and writes docs/benchmarks.md (+ docs/benchmarks-*.svg).
 *
 *   npx tsx bench/run.ts                 all benchmarks, full sizes, 5 runs each
 *   npx tsx bench/run.ts --smoke         tiny sizes, 1 run, report written to a temp dir (CI)
 *   npx tsx bench/run.ts --only=sweep,storm   a subset (report still written)
 *   npx tsx bench/run.ts --runs=7        more runs (fewer than 5 only for profiling)
 *   BENCH_CPU_PROF=/tmp/prof npx tsx bench/run.ts --only=throughput   CPU profiles of helper processes
 *
 * No timing is asserted anywhere: a missed target is reported, not failed.
 * The process exits non-zero only when a benchmark could not run.
 *
 * Started under tsx (npm run bench), it runs itself again as `node --require
 * bench/ts-require.cjs bench/run.ts …`, so that everything measured, here and
 * in the helper processes, is TypeScript's ES2022 output as in dist/, not
 * tsx's (see ts-require.cjs for why that matters).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as detection from './detection';
import * as foreignRedis from './foreign-redis';
import * as networkChange from './network-change';
import { ROOT, TS_HOOK } from './proc';
import { Section, loadAvg, machineLine, renderMarkdown, writeReport } from './report';
import * as scale from './scale';
import * as storm from './storm';
import * as sweep from './sweep';
import * as throughput from './throughput';

interface Bench {
  name: string;
  run(opts: { smoke: boolean; runs: number; log: (s: string) => void }): Promise<Section>;
}

const BENCHES: Bench[] = [
  { name: 'throughput', run: throughput.run },
  { name: 'detection', run: detection.run },
  { name: 'network-change', run: networkChange.run },
  { name: 'scale', run: scale.run },
  { name: 'sweep', run: sweep.run },
  { name: 'storm', run: storm.run },
  { name: 'foreign-redis', run: foreignRedis.run },
];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const smoke = argv.includes('--smoke');
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const runs = smoke ? 1 : Math.max(1, Number(argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5));
  const outDir = argv.find((a) => a.startsWith('--out='))?.slice(6) ?? (smoke ? fs.mkdtempSync(path.join(os.tmpdir(), 'rtcp-bench-')) : path.join(ROOT, 'docs'));
  const t0 = Date.now();
  const loadStart = loadAvg();
  const log = (s: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`);
  log(`${smoke ? 'smoke' : 'full'} run, ${runs} run(s) per cell; load average ${loadStart}`);
  const sections: Section[] = [];
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    const load = loadAvg();
    log(`${b.name}: start (load average ${load})`);
    const s = await b.run({ smoke, runs, log });
    s.load = load;
    if (s.skipped) log(`${b.name}: SKIPPED: ${s.skipped}`);
    sections.push(s);
    log(`${b.name}: done`);
  }
  if (smoke) {
    // Tiny sizes measure nothing: no verdicts in smoke mode, in the log or the report.
    for (const s of sections) for (const v of s.verdicts) v.met = null;
    log('smoke mode: targets not judged');
  }
  const machine = machineLine(loadStart, loadAvg());
  const date = new Date().toISOString().slice(0, 10);
  const runsText = smoke ? 'Smoke mode: one run per cell.' : `${runs} measured runs per cell (throughput adds one warm-up run per row).`;
  // The hand-written analysis (what each change bought, shortfalls) lives in
  // bench/analysis.md and is appended, so a regenerated report keeps it.
  const analysisFile = path.join(__dirname, 'analysis.md');
  const analysis = !smoke && fs.existsSync(analysisFile) ? `\n${fs.readFileSync(analysisFile, 'utf8')}` : '';
  const md = renderMarkdown(sections, machine, { runs: runsText, date, smoke }) + analysis;
  const files = writeReport(outDir, sections, md);
  log(`wrote ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  for (const s of sections) for (const v of s.verdicts) log(`${v.met === null ? 'n/a   ' : v.met ? 'met   ' : 'MISSED'} ${s.id}: ${v.target}: ${v.measured}`);
  log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Runs this file again under the TypeScript hook; resolves with its exit code. Signals are passed on to it by PID. */
function reexec(): Promise<number> {
  const child = spawn(process.execPath, ['--require', TS_HOOK, __filename, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, RTCP_BENCH_HOOKED: '1' },
  });
  const forward = (s: NodeJS.Signals): void => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, s);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

if (process.env.RTCP_BENCH_HOOKED !== '1') {
  void reexec().then((code) => process.exit(code));
} else {
  // Never outlive the parent that started us (its IPC channel closes when it dies).
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
