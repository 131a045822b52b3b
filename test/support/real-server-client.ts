/**
 * What the tests of the example clients (test/real-servers/*-client.test.ts)
 * share: fast recovery settings, and a gate.
 *
 * FAST_RECOVERY: short enough that a lost or frozen server is noticed and
 * retried a few times within one test.
 *
 * The gate: a host name that resolves to 127.0.0.1 only while its gate is open: a test
 * holds one client's reconnect back (its lookup waits) until another client
 * is back, so "who reconnects first" is decided by events, not by timing.
 * The name is resolved by the client's `lookup` option on every attempt
 * (net.connect skips lookup for an IP literal, hence a name).
 */
import type { LookupFunction } from 'node:net';

export const FAST_RECOVERY = {
  heartbeat: { intervalMs: 200, timeoutMs: 1000 },
  reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  connectTimeoutMs: 1000,
};

export const GATED_HOST = 'gated.rtcp.test';

export interface Gate {
  /** Pass as the client's `lookup`, with host GATED_HOST. */
  readonly lookup: LookupFunction;
  /** Lookups from now on wait until open(). */
  close(): void;
  open(): void;
}

export function gatedLookup(): Gate {
  let opened: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
    void opened.then(() => (options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)));
  }) as unknown as LookupFunction;
  return {
    lookup,
    close: () => {
      opened = new Promise((resolve) => (release = resolve));
    },
    open: () => release(),
  };
}
