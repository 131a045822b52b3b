/**
 * Flag parsing on node:util's parseArgs (Node core, no dependency). Bad input
 * becomes a UsageError: one line on stderr that says what is expected, and
 * exit code 2.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** A value that starts with '-' but is a number ("-1"): passed on as `--flag=-1` so the range check can name it. */
const NEGATIVE_NUMBER = /^-\d/;

export function parseFlags(argv: string[], spec: FlagSpec, positionals: number): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options = { ...spec, help: { type: 'boolean' as const, short: 'h' } };
  const args = argv.flatMap((a, i) => {
    const next = argv[i + 1];
    if (a.startsWith('--') && spec[a.slice(2)]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) return [`${a}=${next}`];
    if (i > 0 && NEGATIVE_NUMBER.test(a) && spec[(argv[i - 1] ?? '').slice(2)]?.type === 'string') return [];
    return [a];
  });
  let r;
  try {
    r = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError(friendly(err as Error & { code?: string }));
  }
  if (r.positionals.length > positionals) throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
  return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
}

/** parseArgs's message, said in one short line. */
function friendly(err: Error & { code?: string }): string {
  const quoted = /'([^' ]+)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}'`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(err.message)) return `${quoted} takes no value`;
      return `${quoted} needs a value (write ${quoted}=VALUE for a value that starts with '-')`;
    default:
      return err.message.split('\n')[0] ?? 'bad arguments';
  }
}

/** An integer flag in [min, max]; no `max` means no upper bound. */
export function intFlag(name: string, v: string | boolean | undefined, min: number, max?: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `${min} or more (unbounded)` : `${min}–${max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got ${String(v)}`);
  }
  return n;
}

/** "host:port" (IPv6 as "[::1]:port"). */
export function hostPort(s: string | undefined): { host: string; port: number } {
  const m = s === undefined ? null : /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new UsageError(`expected HOST:PORT with a port 1–65535, got '${s ?? ''}'`);
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
