/**
 * Prints the functions with the most self time in V8 CPU profiles, such as
 * those `BENCH_CPU_PROF=<dir> npx tsx bench/run.ts --only=throughput` writes
 * (one .cpuprofile per helper process, see bench/proc.ts).
 *
 *   npx tsx bench/profile-top.ts <file.cpuprofile | dir> [--top=10] [--grep=HeartbeatServer]
 *
 * A directory prints every profile in it, oldest first; `--grep` keeps only
 * profiles where a function or file name contains that text (e.g. `server-link`
 * for a HeartbeatServer's process). Self time is a node's hit count (each
 * sample lands in one node), summed over every node of the same function,
 * file and line, and given as a share of all samples; "(idle)" is time the
 * process waited in the event loop.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function, most first: [label, hits]. */
export function selfTime(p: CpuProfile): { rows: Array<[string, number]>; total: number } {
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const f = n.callFrame;
    const file = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    const label = `${f.functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
    byFn.set(label, (byFn.get(label) ?? 0) + hits);
  }
  return { rows: [...byFn].sort((a, b) => b[1] - a[1]), total };
}

function report(file: string, top: number, grep: string | undefined): void {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  if (grep && !p.nodes.some((n) => n.callFrame.functionName.includes(grep) || n.callFrame.url.includes(grep))) return;
  const { rows, total } = selfTime(p);
  const busy = total - (rows.find(([l]) => l === '(idle)')?.[1] ?? 0);
  console.log(`\n${path.basename(file)}: ${total} samples, ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, busy ${((busy / total) * 100).toFixed(1)}%`);
  for (const [label, hits] of rows.slice(0, top)) {
    console.log(`${((hits / total) * 100).toFixed(1).padStart(6)}%  ${((hits / Math.max(1, busy)) * 100).toFixed(1).padStart(6)}% of busy  ${label}`);
  }
}

if (require.main === module) {
  // `| head` closes the pipe early: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const args = process.argv.slice(2);
  const target = args.find((a) => !a.startsWith('--'));
  const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 10);
  const grep = args.find((a) => a.startsWith('--grep='))?.slice(7);
  if (!target) {
    process.stderr.write('usage: profile-top.ts <file.cpuprofile | dir> [--top=10] [--grep=text]\n');
    process.exit(2);
  }
  const files = fs.statSync(target).isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(target, f))
        .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs)
    : [target];
  for (const f of files) report(f, top, grep);
}
