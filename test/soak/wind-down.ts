/**
 * The end of a run, once the faults were lifted: wait for every message to
 * settle, then close clients, proxies and the server. Each wait has a guard
 * that only fires when something is stuck; what it finds is a violation.
 */
import { performance } from 'node:perf_hooks';
import type { Ledger } from './delivery-ledger';
import { CLOSE_GUARD_MS, DRAIN_GUARD_MS } from './parameters';
import type { Rig } from './rig';
import type { ServerEpochs } from './server-epochs';
import type { Traffic } from './traffic';

/** Guards a promise: resolves false if it has not settled within `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true), guard]).finally(() => clearTimeout(timer));
}

/** Waits for every client send, and every server send to a session a client still holds, to settle. */
export async function drain(rigs: readonly Rig[], traffic: Traffic, servers: ServerEpochs, ledger: Ledger): Promise<void> {
  if (await within(Promise.all(traffic.unsettled()), DRAIN_GUARD_MS)) return;
  const up = rigs.reduce((n, r) => n + r.pending.size, 0);
  ledger.violation(`drain: ${up} client sends still unacknowledged ${DRAIN_GUARD_MS} ms after the faults were lifted`);
  for (const r of rigs) {
    if (r.pending.size === 0) continue;
    const st = r.client.stats();
    const session = st.sessionId ? servers.server.session(st.sessionId) : undefined;
    ledger.violation(
      `drain: ${r.id} stuck: state ${st.state}, session ${st.sessionId} (server: ${session ? (session.connected ? 'connected' : 'retained') : 'unknown'}), ` +
        `queued ${st.queued}, inFlight ${st.inFlight}, proxy connections ${r.proxy.connectionCount}, last close ${r.closedAt === undefined ? 'none' : `${Math.round(performance.now() - r.closedAt)} ms ago`}`,
    );
  }
}

/** Closes clients (graceful: BYE), proxies, then the server; returns the sessions the server still held after the clients' BYEs. */
export async function closeAll(rigs: readonly Rig[], servers: ServerEpochs, ledger: Ledger, log: (line: string) => void): Promise<number> {
  log('soak: drained; closing clients, proxies and the server');
  if (!(await within(Promise.all(rigs.map((r) => r.client.close())), CLOSE_GUARD_MS))) {
    const open = rigs.filter((r) => r.client.state !== 'closed').map((r) => `${r.id} (${r.client.state})`);
    ledger.violation(`close: clients not closed within ${CLOSE_GUARD_MS} ms: ${open.join(', ')}`);
  }
  // Every client said BYE, which ends its session: what is left was never known to a
  // client (its WELCOME was lost) and waits out sessionTtlMs.
  const orphanSessions = servers.server.sessionCount;
  if (!(await within(Promise.all(rigs.map((r) => r.proxy.close())), CLOSE_GUARD_MS))) {
    ledger.violation(`close: a FaultProxy did not close within ${CLOSE_GUARD_MS} ms (a socket never emitted 'close')`);
  }
  ledger.closeStartedAt[servers.epoch] = performance.now();
  if (!(await within(servers.server.close(), CLOSE_GUARD_MS))) ledger.violation(`close: the server did not close within ${CLOSE_GUARD_MS} ms`);
  return orphanSessions;
}
