/**
 * A rig: one ResilientClient behind its own FaultProxy, with the listeners that
 * report its connection losses, reconnect times, forbidden error codes and the
 * server → client messages it receives.
 */
import { performance } from 'node:perf_hooks';
import { ResilientClient } from '../../src';
import { FaultProxy } from '../support/fault-proxy';
import type { Ledger } from './delivery-ledger';
import { Dice, seeded } from './dice';
import { FORBIDDEN_CLIENT_CODES, HEARTBEAT, RECONNECT } from './parameters';

/** One client, its proxy, and what the traffic keeps for it (the fault schedule's state is in fault-scheduler.ts). */
export interface Rig {
  id: string;
  client: ResilientClient;
  proxy: FaultProxy;
  /** Draws the proxy's jitter and this rig's fault schedule. */
  dice: Dice;
  seq: number;
  inFlight: number;
  pending: Set<Promise<void>>;
  /** When the client's link was last lost, until it opened again. */
  closedAt: number | undefined;
}

/** Connection losses seen by all clients, by error code, the time each took from 'close' to the next 'open', and who opened on which server. */
export interface LinkLog {
  readonly closeCauses: Record<string, number>;
  readonly reconnectSamples: number[];
  /** Per server epoch, the clients that opened a connection to that epoch's server. */
  readonly openedInEpoch: Array<Set<string>>;
  /** The current server epoch (see server-epochs.ts). */
  readonly epoch: () => number;
}

/** Rig number `i` of a run seeded with `seed`, its proxy listening and forwarding to the server on `serverPort`; not yet connected. */
export async function createRig(i: number, seed: number, serverPort: number, ledger: Ledger, links: LinkLog): Promise<Rig> {
  const dice = new Dice(seeded(seed + 1 + i));
  const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: serverPort }, random: dice.random });
  const { port } = await proxy.listen();
  const id = `soak-${i}`;
  const client = new ResilientClient({
    host: '127.0.0.1',
    port,
    clientId: id,
    heartbeat: HEARTBEAT,
    reconnect: RECONNECT,
    connectTimeoutMs: 3000,
    closeTimeoutMs: 3000,
  });
  const rig: Rig = { id, client, proxy, dice, seq: 0, inFlight: 0, pending: new Set(), closedAt: undefined };
  client.on('close', (e) => {
    if (!e.error) return; // our own close() at the end
    links.closeCauses[e.error.code] = (links.closeCauses[e.error.code] ?? 0) + 1;
    if (FORBIDDEN_CLIENT_CODES.has(e.error.code)) ledger.violation(`client ${id}: ${e.error.code} ${e.error.message}`);
    rig.closedAt = performance.now();
  });
  client.on('open', () => {
    const e = links.epoch();
    (links.openedInEpoch[e] ??= new Set()).add(id);
    if (rig.closedAt !== undefined) links.reconnectSamples.push(performance.now() - rig.closedAt);
    rig.closedAt = undefined;
  });
  client.on('giveUp', (err) => ledger.violation(`client ${id} gave up: ${err.code} ${err.message}`));
  client.on('error', () => undefined); // counted through 'close'; eventemitter3 would not throw anyway
  client.on('message', (payload, meta) => ledger.onDown(id, payload, meta));
  return rig;
}
