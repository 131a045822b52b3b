/**
 * Option checks shared by the client (client/options.ts) and the server
 * (server/options.ts): each throws a TypeError naming the option and the
 * value. The queue options are checked here once for both.
 */
import { OverflowPolicy, QUEUE_DEFAULTS, QueueOptions } from './delivery';

export interface QueueConfig {
  /** Bound on messages held (queued + awaiting ack). @default 10000 */
  maxMessages?: number;
  /** Bound on payload bytes held (queued + awaiting ack). @default 16777216 (16 MiB) */
  maxBytes?: number;
  /** `'reject'`: send() rejects with ERR_QUEUE_FULL; `'drop-oldest'`: the oldest unsent message is dropped. @default 'reject' */
  overflow?: OverflowPolicy;
}

const OVERFLOWS: readonly OverflowPolicy[] = ['reject', 'drop-oldest'];

/** Throws the TypeError for option `name`: what it must be, and what it was. */
export function fail(name: string, value: unknown, expected: string): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  throw new TypeError(`options.${name} must be ${expected}, got ${shown}`);
}

/** A finite number >= min (or > min when `exclusive`), or `Infinity` when allowed. */
export function checkNumber(
  name: string,
  value: unknown,
  min: number,
  opts: { integer?: boolean; allowInfinity?: boolean; exclusive?: boolean; max?: number } = {},
): number {
  const expected = `a${opts.integer ? 'n integer' : ' number'} ${opts.exclusive ? '>' : '>='} ${min}${
    opts.max !== undefined ? ` and <= ${opts.max}` : ''
  }${opts.allowInfinity ? ' (or Infinity)' : ''}`;
  if (typeof value !== 'number' || Number.isNaN(value)) fail(name, value, expected);
  if (value === Infinity && opts.allowInfinity) return value;
  if (!Number.isFinite(value)) fail(name, value, expected);
  if (opts.integer && !Number.isInteger(value)) fail(name, value, expected);
  if (opts.exclusive ? value <= min : value < min) fail(name, value, expected);
  if (opts.max !== undefined && value > opts.max) fail(name, value, expected);
  return value;
}

/** An object option, or {} when absent. */
export function objectOrUndefined(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null) fail(name, v, 'an object');
  return v as Record<string, unknown>;
}

/**
 * `shared` when `value` has the same own properties with the same values
 * (Object.is), else `value`: resolved options equal to the defaults become one
 * frozen object for every client or server that uses them, not a copy each.
 */
export function sharedIfEqual<T extends object>(value: T, shared: T): T {
  const keys = Object.keys(value) as Array<keyof T>;
  if (keys.length !== Object.keys(shared).length) return value;
  for (const k of keys) if (!Object.is(value[k], shared[k])) return value;
  return shared;
}

/** The `queue` option, checked and filled in from QUEUE_DEFAULTS (QUEUE_DEFAULTS itself when equal). */
export function resolveQueue(input: unknown): QueueOptions {
  const q = objectOrUndefined('queue', input);
  const queue = {
    maxMessages: checkNumber('queue.maxMessages', q.maxMessages ?? QUEUE_DEFAULTS.maxMessages, 1, { integer: true, allowInfinity: true }),
    maxBytes: checkNumber('queue.maxBytes', q.maxBytes ?? QUEUE_DEFAULTS.maxBytes, 1, { allowInfinity: true }),
    overflow: (q.overflow ?? QUEUE_DEFAULTS.overflow) as OverflowPolicy,
  };
  if (!OVERFLOWS.includes(queue.overflow)) fail('queue.overflow', queue.overflow, `one of ${OVERFLOWS.join(', ')}`);
  return sharedIfEqual<QueueOptions>(queue, QUEUE_DEFAULTS);
}
