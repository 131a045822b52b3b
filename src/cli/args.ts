/**
 * Flag parsing on node:util's parseArgs (Node core, no dependency). Bad input
 * becomes a UsageError: one line on stderr and exit code 2.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parseFlags(argv: string[], spec: FlagSpec, positionals: number): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...spec, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals > 0, strict: true });
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs messages are long; keep the first sentence.
    throw new UsageError(String((err as Error).message).split('. ')[0] ?? 'bad arguments');
  }
}

export function intFlag(name: string, v: string | boolean | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  return n;
}

/** "host:port" (IPv6 as "[::1]:port"). */
export function hostPort(s: string | undefined): { host: string; port: number } {
  const m = s === undefined ? null : /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new UsageError(`expected host:port, got '${s ?? ''}'`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** "1000/3000" -> { intervalMs: 1000, timeoutMs: 3000 }. */
export function heartbeatFlag(v: string | boolean | undefined): { intervalMs: number; timeoutMs: number } | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d+)\/(\d+)$/.exec(v) : null;
  if (!m) throw new UsageError(`--heartbeat must be INTERVAL/TIMEOUT in ms, e.g. 1000/3000, got '${String(v)}'`);
  const intervalMs = Number(m[1]);
  const timeoutMs = Number(m[2]);
  if (!(intervalMs > 0) || !(timeoutMs > intervalMs)) throw new UsageError('--heartbeat needs 0 < INTERVAL < TIMEOUT');
  return { intervalMs, timeoutMs };
}
