/**
 * Resolved client options shared by every client built from equal options
 * (client/options.ts resolveOptions() returns the shared frozen object): an
 * idle client kept its own 216 B options object and endpoints array although
 * thousands of clients are built from the same options
 * (bench/heap-per-client.ts). Equal means the same primitives, the same
 * function and object identities (codec, logger, tls options, hooks), the
 * nested heartbeat, reconnect and queue field by field, and the endpoints by
 * host and port.
 */
import type { Endpoint } from '../io/socket';

/** What sharing reads of the resolved options (client/options.ts ResolvedOptions); the rest is keyed field by field. */
interface Shareable {
  readonly endpoints: readonly Endpoint[];
  readonly signal: AbortSignal | undefined;
}

/** Past this many distinct resolved options the oldest is forgotten (a process makes its clients from a few). */
const SHARED_OPTIONS_MAX = 64;
/** Resolved options by the key of their values (keyOf()), oldest first. */
const sharedOptions = new Map<string, Shareable>();
/** A number per function or object (codec, logger, tls options, hooks) in a key: weak, it keeps none of them alive. */
const identities = new WeakMap<object, number>();
let lastIdentity = 0;

/** One value in a key: a primitive as itself, anything else by identity. */
function keyPart(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v);
  let id = identities.get(v);
  if (id === undefined) identities.set(v, (id = ++lastIdentity));
  return `#${id}`;
}

/** The key of resolved options: equal keys, equal options (the nested heartbeat, reconnect and queue by their fields, endpoints by host and port). */
function keyOf(o: Shareable): string {
  let key = '';
  for (const [name, v] of Object.entries(o)) {
    if (name === 'endpoints') key += (v as Endpoint[]).map((e) => `${JSON.stringify(e.host)}:${e.port}`).join(',');
    else if (typeof v === 'object' && v !== null && (name === 'heartbeat' || name === 'reconnect' || name === 'queue')) {
      for (const [field, x] of Object.entries(v)) key += `${field}=${keyPart(x)},`;
    } else key += keyPart(v);
    key += ';';
  }
  return key;
}

/**
 * The frozen object for `o`: one made earlier from equal values, or `o` itself
 * frozen. Options with a `signal` are the client's own and not shared, so no
 * client's signal is held after it is gone.
 */
export function shareResolved<T extends Shareable>(o: T): T {
  if (o.signal !== undefined) return Object.freeze(o);
  const key = keyOf(o);
  const known = sharedOptions.get(key);
  if (known) return known as T;
  if (sharedOptions.size >= SHARED_OPTIONS_MAX) sharedOptions.delete(sharedOptions.keys().next().value as string);
  for (const e of o.endpoints) Object.freeze(e);
  Object.freeze(o.endpoints);
  sharedOptions.set(key, Object.freeze(o));
  return o;
}
