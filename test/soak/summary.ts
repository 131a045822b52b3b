/**
 * The report: the summary tables printed at the end of a run, and the verdict
 * the CLI's exit code and the Jest test rest on.
 */
import { FAULT_KINDS } from './parameters';
import type { SoakResult } from './soak-types';

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The summary tables of a run, as printed. */
export function formatSummary(r: SoakResult): string {
  const faults = table(
    ['fault', 'injected', 'acted'],
    FAULT_KINDS.map((k) => [k, r.faults[k].injected, r.faults[k].acted]),
  );
  const across = Object.entries(r.duplicates.acrossEpochs).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  const messages = table(
    ['direction', 'sent', 'acked', 'rejected', 'delivered', 'distinct', 'dup in epoch', 'dup across epochs'],
    [
      ['client → server', r.up.sent, r.up.acked, r.up.rejected, r.up.delivered, r.up.distinct, r.duplicates.withinEpoch.join('/'), across],
      ['server → client', r.down.sent, r.down.acked, r.down.rejected, r.down.delivered, r.down.distinct, r.duplicates.down, '(sessions end with the server)'],
    ],
  );
  const causes = Object.entries(r.closeCauses)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const leakList = Object.keys(r.leaks);
  const failures = soakFailures(r);
  return [
    // The verdict first: a log cut short still says what broke.
    `soak verdict: ${failures.length === 0 ? 'every guarantee kept' : `BROKEN: ${failures.join('; ')}`}${r.violations.length ? `\n  ${r.violations.slice(0, 3).join('\n  ')}` : ''}`,
    `soak summary: ${r.clients} clients, ${r.seconds} s of chaos, seed ${r.seed}, wall ${(r.wallMs / 1000).toFixed(1)} s`,
    faults,
    `server restarts: ${r.restarts} (epochs 0..${r.restarts}); clients that opened on each epoch's server: ${r.clientsPerEpoch.join(' / ')} of ${r.clients}; stale connections taken over by the server: ${r.serverTakeovers}`,
    `reconnects: ${r.reconnects}; close -> open: p50 ${r.reconnectMs.p50} ms, p99 ${r.reconnectMs.p99} ms, max ${r.reconnectMs.max} ms (${r.reconnectMs.samples} samples)`,
    `black holes detected (injection -> client 'close'): ${Object.entries(r.blackholeDetectionMs)
      .map(([k, v]) => `${k} ${v.samples}× (p50 ${v.p50} ms, max ${v.max} ms)`)
      .join('; ')}; cuts on lifting them: ${r.blackholeLiftCuts}; resets skipped on half-closed links: ${r.resetsSkipped}`,
    `connections lost, by cause: ${causes}`,
    messages,
    `duplicates dropped by the clients' own dedup: ${r.duplicates.droppedByClients}; sessions left on the server after every client's BYE: ${r.orphanSessions}`,
    `violations: ${r.violationCount}${r.violations.length ? `\n  ${r.violations.slice(0, 10).join('\n  ')}` : ''}`,
    `unhandled errors/rejections: ${r.unhandled.length}${r.unhandled.length ? `\n  ${r.unhandled.slice(0, 5).join('\n  ')}` : ''}`,
    `handles after close: ${leakList.length === 0 ? 'back to baseline' : JSON.stringify(r.leaks)}; src/ timers tracked: ${r.timerTracking ? 'yes' : 'no'}`,
    `heap after GC: ${(r.heap.startBytes / 2 ** 20).toFixed(1)} MiB -> ${(r.heap.endBytes / 2 ** 20).toFixed(1)} MiB (x${r.heap.ratio.toFixed(3)})`,
  ].join('\n');
}

/** The guarantees the run broke, one short line each; empty when it kept them all. */
export function soakFailures(r: Omit<SoakResult, 'summary'>): string[] {
  const out: string[] = [];
  if (r.violationCount > 0) out.push(`${r.violationCount} delivery/fault violation(s)`);
  if (r.unhandled.length > 0) out.push(`${r.unhandled.length} unhandled error(s)/rejection(s)`);
  if (Object.keys(r.leaks).length > 0) out.push(`handles or src/ timers left: ${Object.keys(r.leaks).join(', ')}`);
  if (r.heap.ratio > 1.2) out.push(`heap after GC x${r.heap.ratio.toFixed(3)} of the start (bound x1.2)`);
  return out;
}

/** True when the run kept every guarantee (what the CLI's exit code and the Jest test check). */
export function soakPassed(r: Omit<SoakResult, 'summary'>): boolean {
  return soakFailures(r).length === 0;
}
