/**
 * Chaos soak (issue 4, part 3): many ResilientClients, each through its own
 * FaultProxy, to one HeartbeatServer on 127.0.0.1, under random faults and two
 * server restarts; afterwards every delivery guarantee, the process's handles
 * and its heap are checked.
 *
 *   npx tsx test/soak/soak.ts --seconds 60 --clients 100 [--seed 42]
 *   const result = await runSoak({ seconds: 20, clients: 100, log: console.log });
 *
 * One proxy per client (not a few shared ones): a fault then hits exactly one
 * client's link, as a real flaky path does, and 100 independent fault
 * schedules overlap in every combination across the fleet.
 *
 * Guarantees checked (DESIGN.md, docs/delivery.md). An *epoch* is the life of
 * one HeartbeatServer process: epoch 0 until the first restart, 1 until the
 * second, 2 until the end. Client → server messages are identified by
 * (clientId, meta.id), and their payload names the client and its send number:
 *   - exactly once while the server lived: within one epoch, no (clientId, id)
 *     is delivered twice, and each client's ids arrive in order with no gap;
 *   - at least once with matching ids across restarts: every send() that
 *     resolved (acked) was delivered in some epoch; an (clientId, id) delivered
 *     in several epochs carries the same payload every time, and a payload is
 *     never delivered under two ids;
 *   - a duplicate across epochs is only legal for a message not yet acked when
 *     the earlier server went down: a redelivery in epoch e of a message whose
 *     send() resolved before epoch e-1's close began is a violation.
 * Server → client messages are identified by (sessionId, meta.id); sessions
 * die with the server, so: every acked session.send() was delivered exactly
 * once, to that session's client, with meta.sessionId of that session; no
 * payload is ever delivered twice; per session, ids arrive in order from 1.
 *
 * Timers here are the chaos itself (fault gaps and durations, the restart
 * downtime, the send rate), not waits for the system to settle: every wait for
 * an outcome is for an event or a promise, with a guard that only fires when
 * something is broken.
 */
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { ResilientClient, ResilientError } from '../../src';
import { HeartbeatServer, Session } from '../../src/server';
import { FaultProxy, type DirectionArg, type FaultKind } from '../support/fault-proxy';

export interface SoakOptions {
  /** Length of the chaos phase, in s. @default 60 */
  seconds?: number;
  /** Number of clients (one proxy each). @default 100 */
  clients?: number;
  /** Receives progress lines and the final summary. @default console.log */
  log?: (line: string) => void;
  /** Seed of the fault schedule, payload sizes and proxy jitter. @default random */
  seed?: number;
}

export interface DirectionStats {
  /** send() / session.send() calls. */
  sent: number;
  /** Of those, resolved (acknowledged by the peer). */
  acked: number;
  /** Rejected (server → client: sessions ended by a restart; client → server: none expected). */
  rejected: number;
  /** 'message' events at the receiver, duplicates included. */
  delivered: number;
  /** Distinct messages delivered. */
  distinct: number;
}

export interface SoakResult {
  seed: number;
  seconds: number;
  clients: number;
  /** Wall time of the whole run (setup, chaos, drain, close, checks), in ms. */
  wallMs: number;
  faults: Record<FaultKind, { injected: number; acted: number }>;
  restarts: number;
  /** Connections opened after each client's first (client stats). */
  reconnects: number;
  /** Time from a client's 'close' to its next 'open', in ms. */
  reconnectMs: { samples: number; p50: number; p99: number; max: number };
  /** Connection losses seen by clients, by error code. */
  closeCauses: Record<string, number>;
  up: DirectionStats;
  down: DirectionStats;
  duplicates: {
    /** Client → server ids delivered twice within one epoch, per epoch (must be 0). */
    withinEpoch: number[];
    /** Client → server redeliveries in a later epoch, keyed 'first→later' epoch. */
    acrossEpochs: Record<string, number>;
    /** Server → client payloads delivered more than once (must be 0). */
    down: number;
    /** Duplicates the clients' own dedup dropped (stats().duplicatesDropped). */
    droppedByClients: number;
  };
  /** Every broken guarantee, one line each (at most 50 kept); empty on success. */
  violations: string[];
  violationCount: number;
  /** Uncaught exceptions and unhandled rejections during the run. */
  unhandled: string[];
  /** Handles open beyond the baseline after everything closed, and live src/ timers. */
  leaks: Record<string, string>;
  /** True when src/ timers were tracked (test/support/timer-tracker.ts). */
  timerTracking: boolean;
  heap: { startBytes: number; endBytes: number; ratio: number };
  /** The printed summary tables. */
  summary: string;
}

// ---- parameters ------------------------------------------------------------

/** Client heartbeat: a dead link is declared after 1.5 s of silence. */
const HEARTBEAT = { intervalMs: 250, timeoutMs: 1500 };
/** Server: a connection silent for 3 s is dropped; swept every 750 ms (idle / 4). */
const SERVER_IDLE_MS = 3000;
const SERVER_SWEEP_MS = SERVER_IDLE_MS / 4;
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 1000, jitter: 'full' as const };
/** Each side sends at most one message per tick and holds at most WINDOW unacked. */
const TICK_MS = 100;
const WINDOW = 4;
/** Payload padding 0..PAD_MAX bytes, so frames differ in size and limitData cuts them mid-frame. */
const PAD_MAX = 120;
/** Gap between two faults on one proxy (after the previous one was lifted). */
const FAULT_GAP_MS: Range = [200, 2000];
/**
 * One-way latency + jitter stays at or below a third of the heartbeat timeout:
 * a ping's round trip (2 × 500 ms) plus a ping interval (250 ms) is under the
 * 1500 ms timeout, so latency alone never trips the heartbeat.
 */
const LATENCY_MAX_MS = HEARTBEAT.timeoutMs / 3;
/** Server downtime during a restart (a chaos parameter, not a wait). */
const RESTART_DOWNTIME_MS: Range = [200, 600];
/** Guard on the drain after the chaos: it only fires when a message is stuck. */
const DRAIN_GUARD_MS = 20_000;
const KEEP_VIOLATIONS = 50;

const FAULT_KINDS: readonly FaultKind[] = ['latency', 'blackhole', 'reset', 'slice', 'limitData', 'slowClose', 'bandwidth'];
/** Codes that must never appear under these faults: they would mean a corrupted stream or a client that gave up. */
const FORBIDDEN_CODES = new Set(['ERR_PROTOCOL', 'ERR_FRAME_TOO_LARGE', 'ERR_SESSION_TAKEN_OVER', 'ERR_PROTOCOL_VERSION']);

type Range = readonly [number, number];

// ---- small helpers ---------------------------------------------------------

/** Deterministic PRNG (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(readonly random: () => number) {}
  between([lo, hi]: Range): number {
    return Math.round(lo + this.random() * (hi - lo));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }
  dir(): DirectionArg {
    return this.pick(['upstream', 'downstream', 'both'] as const);
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function codeOf(err: unknown): string {
  return err instanceof ResilientError ? err.code : String((err as { code?: unknown })?.code ?? err);
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/** Guards a promise: resolves false if it has not settled within `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true), guard]).finally(() => clearTimeout(timer));
}

/** A forced, full GC: --expose-gc set at run time, `gc` taken from a fresh context. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const IGNORED_RESOURCES = new Set(['Timeout', 'FSReqPromise', 'FSReqCallback']);

function resourceCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (!IGNORED_RESOURCES.has(r)) bump(out, r);
  return out;
}

function libraryTimers(): string[] | undefined {
  return (globalThis as { __liveLibraryTimers?: () => string[] }).__liveLibraryTimers?.();
}

/**
 * Handles beyond `before`, plus live src/ timers. libuv releases a handle a
 * loop phase after its 'close' event, and a loaded kernel may be slower still:
 * wait up to 200 loop turns, then poll for up to 2 s; a real leak stays.
 */
async function leaksSince(before: Record<string, number>): Promise<Record<string, string>> {
  const find = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(resourceCounts())) if (v > (before[k] ?? 0)) out[k] = `${before[k] ?? 0} before, ${v} now`;
    (libraryTimers() ?? []).forEach((stack, i) => (out[`src timer ${i}`] = stack));
    return out;
  };
  let found = find();
  for (let i = 0; i < 200 && Object.keys(found).length > 0; i++) {
    await new Promise((r) => setImmediate(r));
    found = find();
  }
  const deadline = performance.now() + 2000;
  while (Object.keys(found).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    found = find();
  }
  return found;
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

// ---- the delivery ledger ---------------------------------------------------

interface UpSend {
  seq: number;
  payload: string;
  ackedAt?: number;
  error?: string;
}
interface UpDelivery {
  payload: string;
  epochs: number[];
}
interface DownSend {
  clientId: string;
  sessionId: string;
  ackedAt?: number;
  error?: string;
  received: number;
}

/** Everything sent and delivered, and every check of the guarantees stated at the top of this file. */
class Ledger {
  readonly upSends = new Map<string, UpSend>();
  /** clientId -> id -> delivery. */
  private readonly upByClient = new Map<string, Map<number, UpDelivery>>();
  private readonly upIdOfPayload = new Map<string, number>();
  /** `${epoch}|${clientId}` -> last id delivered. */
  private readonly upLast = new Map<string, number>();
  upDelivered = 0;
  readonly withinEpoch: number[] = [];
  readonly acrossEpochs: Record<string, number> = {};

  readonly downSends = new Map<string, DownSend>();
  /** `${clientId}|${sessionId}` -> last id delivered. */
  private readonly downLast = new Map<string, number>();
  downDelivered = 0;
  downDuplicates = 0;

  /** performance.now() when each epoch's server began to close. */
  readonly closeStartedAt: number[] = [];
  readonly violations: string[] = [];
  violationCount = 0;

  violation(line: string): void {
    this.violationCount++;
    if (this.violations.length < KEEP_VIOLATIONS) this.violations.push(line);
  }

  onUp(epoch: number, clientId: string, id: number, payloadBuf: Buffer): void {
    this.upDelivered++;
    const payload = payloadBuf.toString();
    if (!payload.startsWith(`u|${clientId}|`)) this.violation(`up: ${clientId} id ${id} carries another client's payload '${payload.slice(0, 40)}'`);
    const key = `${epoch}|${clientId}`;
    const last = this.upLast.get(key);
    if (last !== undefined && id !== last + 1) this.violation(`up: ${clientId} epoch ${epoch}: id ${id} after ${last} (out of order or a gap)`);
    this.upLast.set(key, id);
    let byId = this.upByClient.get(clientId);
    if (!byId) this.upByClient.set(clientId, (byId = new Map()));
    const prevId = this.upIdOfPayload.get(payload);
    if (prevId !== undefined && prevId !== id) this.violation(`up: ${clientId} payload '${payload.slice(0, 40)}' delivered under ids ${prevId} and ${id}`);
    this.upIdOfPayload.set(payload, id);
    const d = byId.get(id);
    if (!d) {
      byId.set(id, { payload, epochs: [epoch] });
      return;
    }
    if (d.payload !== payload) this.violation(`up: ${clientId} id ${id} delivered with two payloads`);
    if (d.epochs.includes(epoch)) {
      this.withinEpoch[epoch] = (this.withinEpoch[epoch] ?? 0) + 1;
      this.violation(`up: ${clientId} id ${id} delivered twice in epoch ${epoch}`);
    } else {
      bump(this.acrossEpochs, `${d.epochs[0]}→${epoch}`);
      // Resent to a later server only if unacknowledged when the client first reached it,
      // which is after the previous epoch's close began.
      const ackedAt = this.upSends.get(payload)?.ackedAt;
      const prevClose = this.closeStartedAt[epoch - 1];
      if (ackedAt !== undefined && prevClose !== undefined && ackedAt < prevClose) {
        this.violation(`up: ${clientId} id ${id} redelivered in epoch ${epoch} although acked before epoch ${epoch - 1} ended`);
      }
    }
    d.epochs.push(epoch);
  }

  onDown(clientId: string, payloadBuf: Buffer, meta: { id: number; sessionId: string | undefined }): void {
    this.downDelivered++;
    const payload = payloadBuf.toString();
    if (meta.sessionId === undefined) return this.violation(`down: ${clientId} got '${payload.slice(0, 40)}' without a sessionId`);
    const sent = this.downSends.get(payload);
    if (!sent) return this.violation(`down: ${clientId} got a payload nobody sent: '${payload.slice(0, 40)}'`);
    if (sent.clientId !== clientId || sent.sessionId !== meta.sessionId) {
      this.violation(`down: '${payload.slice(0, 40)}' for ${sent.clientId}/${sent.sessionId} reached ${clientId}/${meta.sessionId}`);
    }
    sent.received++;
    if (sent.received > 1) {
      this.downDuplicates++;
      this.violation(`down: ${clientId} got '${payload.slice(0, 40)}' ${sent.received} times`);
    }
    const key = `${clientId}|${meta.sessionId}`;
    const last = this.downLast.get(key) ?? 0;
    if (meta.id !== last + 1) this.violation(`down: ${clientId} session ${meta.sessionId}: id ${meta.id} after ${last}`);
    this.downLast.set(key, meta.id);
  }

  /** The end-of-run checks: every acknowledged message was delivered. */
  checkComplete(): void {
    for (const s of this.upSends.values()) {
      if (s.error !== undefined) this.violation(`up: send ${s.payload.slice(0, 30)} rejected with ${s.error}`);
      if (s.ackedAt !== undefined && !this.upIdOfPayload.has(s.payload)) this.violation(`up: '${s.payload.slice(0, 30)}' acked but never delivered`);
      if (s.ackedAt === undefined && s.error === undefined) this.violation(`up: '${s.payload.slice(0, 30)}' never settled`);
    }
    for (const [payload, s] of this.downSends) {
      if (s.ackedAt !== undefined && s.received !== 1) this.violation(`down: '${payload.slice(0, 40)}' acked but delivered ${s.received} times`);
    }
  }

  upStats(): DirectionStats {
    const all = [...this.upSends.values()];
    let distinct = 0;
    for (const m of this.upByClient.values()) distinct += m.size;
    return {
      sent: all.length,
      acked: all.filter((s) => s.ackedAt !== undefined).length,
      rejected: all.filter((s) => s.error !== undefined).length,
      delivered: this.upDelivered,
      distinct,
    };
  }

  downStats(): DirectionStats {
    const all = [...this.downSends.values()];
    return {
      sent: all.length,
      acked: all.filter((s) => s.ackedAt !== undefined).length,
      rejected: all.filter((s) => s.error !== undefined).length,
      delivered: this.downDelivered,
      distinct: all.filter((s) => s.received > 0).length,
    };
  }
}

// ---- the run ---------------------------------------------------------------

interface Rig {
  index: number;
  id: string;
  client: ResilientClient;
  proxy: FaultProxy;
  dice: Dice;
  seq: number;
  inFlight: number;
  pending: Set<Promise<void>>;
  faultTimer: NodeJS.Timeout | undefined;
  closedAt: number | undefined;
}

type ChaosResult = Omit<SoakResult, 'wallMs' | 'unhandled' | 'leaks' | 'timerTracking' | 'heap' | 'summary'>;

/** Runs the soak and checks everything; never throws for a broken guarantee, it reports it. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const startedAt = performance.now();
  const log = options.log ?? ((line: string) => console.log(line));
  if (!libraryTimers()) {
    // Outside Jest the setup file has not run: track src/ timers ourselves.
    require('../support/timer-tracker');
  }
  const gc = exposeGc();
  const baseline = resourceCounts();
  gc();
  const heapStart = process.memoryUsage().heapUsed;
  const unhandled: string[] = [];
  const onUncaught = (err: unknown): void => void unhandled.push(`uncaughtException: ${(err as Error)?.stack ?? String(err)}`);
  const onRejection = (err: unknown): void => void unhandled.push(`unhandledRejection: ${(err as Error)?.stack ?? String(err)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  let chaos: ChaosResult;
  try {
    chaos = await runChaos(options, log);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }
  const leaks = await leaksSince(baseline);
  // The ledger and every client are out of scope now: what is left is what leaked.
  gc();
  gc();
  const heapEnd = process.memoryUsage().heapUsed;
  const result: SoakResult = {
    ...chaos,
    wallMs: Math.round(performance.now() - startedAt),
    unhandled,
    leaks,
    timerTracking: libraryTimers() !== undefined,
    heap: { startBytes: heapStart, endBytes: heapEnd, ratio: heapEnd / heapStart },
    summary: '',
  };
  result.summary = formatSummary(result);
  log(result.summary);
  return result;
}

async function runChaos(options: SoakOptions, log: (line: string) => void): Promise<ChaosResult> {
  const seconds = options.seconds ?? 60;
  const clientCount = options.clients ?? 100;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const dice = new Dice(seeded(seed));
  const ledger = new Ledger();
  const injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const closeCauses: Record<string, number> = {};
  const reconnectSamples: number[] = [];
  log(`soak: ${clientCount} clients, ${seconds} s, seed ${seed}`);

  // -- server epochs
  let epoch = 0;
  let server: HeartbeatServer | undefined;
  const live = new Set<Session>();
  const downInFlight = new Map<Session, Set<Promise<void>>>();
  const startServer = async (port: number): Promise<HeartbeatServer> => {
    const e = epoch;
    const s = new HeartbeatServer({
      host: '127.0.0.1',
      port,
      idleTimeoutMs: SERVER_IDLE_MS,
      sweepIntervalMs: SERVER_SWEEP_MS,
      handshakeTimeoutMs: SERVER_IDLE_MS,
    });
    s.on('message', (session, payload, meta) => ledger.onUp(e, session.clientId, meta.id, payload));
    s.on('connection', (session) => live.add(session));
    s.on('sessionEnd', (session) => live.delete(session));
    s.on('error', (err) => {
      if (FORBIDDEN_CODES.has(err.code)) ledger.violation(`server epoch ${e}: ${err.code} ${err.message}`);
    });
    await s.listen();
    return s;
  };
  server = await startServer(0);
  const port = (server.address() as { port: number }).port;

  // -- clients, one proxy each
  const rigs: Rig[] = [];
  for (let i = 0; i < clientCount; i++) {
    const rigDice = new Dice(seeded(seed + 1 + i));
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port }, random: rigDice.random });
    const { port: proxyPort } = await proxy.listen();
    const id = `soak-${i}`;
    const client = new ResilientClient({
      host: '127.0.0.1',
      port: proxyPort,
      clientId: id,
      heartbeat: HEARTBEAT,
      reconnect: RECONNECT,
      connectTimeoutMs: 3000,
      closeTimeoutMs: 3000,
    });
    const rig: Rig = { index: i, id, client, proxy, dice: rigDice, seq: 0, inFlight: 0, pending: new Set(), faultTimer: undefined, closedAt: undefined };
    client.on('close', (e) => {
      if (!e.error) return; // our own close() at the end
      bump(closeCauses, e.error.code);
      if (FORBIDDEN_CODES.has(e.error.code)) ledger.violation(`client ${id}: ${e.error.code} ${e.error.message}`);
      rig.closedAt = performance.now();
    });
    client.on('open', () => {
      if (rig.closedAt !== undefined) reconnectSamples.push(performance.now() - rig.closedAt);
      rig.closedAt = undefined;
    });
    client.on('giveUp', (err) => ledger.violation(`client ${id} gave up: ${err.code} ${err.message}`));
    client.on('error', () => undefined); // counted through 'close'; eventemitter3 would not throw anyway
    client.on('message', (payload, meta) => ledger.onDown(id, payload, meta));
    rigs.push(rig);
  }
  await Promise.all(rigs.map((r) => r.client.connect()));
  log(`soak: ${clientCount} clients connected; chaos for ${seconds} s`);

  // -- traffic: one tick drives both directions
  const pad = (): string => '.'.repeat(Math.floor(dice.random() * (PAD_MAX + 1)));
  const sendUp = (r: Rig): void => {
    const seq = ++r.seq;
    const rec: UpSend = { seq, payload: `u|${r.id}|${seq}|${pad()}` };
    ledger.upSends.set(rec.payload, rec);
    r.inFlight++;
    const p = r.client.send(rec.payload).then(
      () => void (rec.ackedAt = performance.now()),
      (err: unknown) => void (rec.error = codeOf(err)),
    );
    r.pending.add(p);
    void p.finally(() => {
      r.inFlight--;
      r.pending.delete(p);
    });
  };
  const downSeq = new Map<Session, number>();
  const sendDown = (s: Session, inFlight: Set<Promise<void>>): void => {
    const n = (downSeq.get(s) ?? 0) + 1;
    downSeq.set(s, n);
    const payload = `d|${epoch}|${s.clientId}|${s.id}|${n}|${pad()}`;
    const rec: DownSend = { clientId: s.clientId, sessionId: s.id, received: 0 };
    ledger.downSends.set(payload, rec);
    const p = s.send(payload).then(
      () => void (rec.ackedAt = performance.now()),
      (err: unknown) => void (rec.error = codeOf(err)),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  let sending = true;
  const ticker = setInterval(() => {
    if (!sending) return;
    for (const r of rigs) if (r.inFlight < WINDOW) sendUp(r);
    for (const s of live) {
      if (!s.connected) continue;
      let set = downInFlight.get(s);
      if (!set) downInFlight.set(s, (set = new Set()));
      if (set.size < WINDOW) sendDown(s, set);
    }
  }, TICK_MS);

  // -- faults: one at a time per proxy, a random gap between them
  let faulting = true;
  const applyFault = (r: Rig, kind: FaultKind): { ms: number; lift: () => void } | undefined => {
    const p = r.proxy;
    const d = r.dice;
    switch (kind) {
      case 'latency': {
        const dir = d.dir();
        const ms = d.between([20, LATENCY_MAX_MS * 0.6]);
        p.setLatency(dir, ms, d.between([0, LATENCY_MAX_MS - ms]));
        return { ms: d.between([1000, 4000]), lift: () => p.setLatency(dir, 0, 0) };
      }
      case 'blackhole': {
        const dir = d.dir();
        p.blackhole(dir);
        // Long enough to trip detection: the client's heartbeat when downstream is dark;
        // the server's idle sweep (which then closes the link) when only upstream is.
        const trip = dir === 'upstream' ? SERVER_IDLE_MS + SERVER_SWEEP_MS : HEARTBEAT.timeoutMs;
        return { ms: d.between([trip + 300, trip + 1100]), lift: () => p.blackhole(dir, false) };
      }
      case 'reset':
        p.resetAll();
        return undefined;
      case 'slice': {
        const dir = d.dir();
        p.setSlicer(dir, { minBytes: 1, maxBytes: d.between([4, 64]), delayMs: d.between([0, 1]) });
        return { ms: d.between([1000, 3000]), lift: () => p.setSlicer(dir, null) };
      }
      case 'limitData': {
        // Every frame here is 13..300 bytes: a budget of 1..120 bytes ends mid-frame
        // (or mid-HELLO), on the current connection and on each new one while it lasts.
        const dir = d.dir();
        p.limitData(dir, d.between([1, 120]));
        return { ms: d.between([300, 1500]), lift: () => p.limitData(dir, null) };
      }
      case 'slowClose': {
        // The server drops this client's connection; the client hears of it only
        // `ms` later (or notices through its heartbeat first).
        const ms = d.between([200, 1500]);
        p.setSlowClose(ms);
        const sessionId = r.client.stats().sessionId;
        const conn = sessionId ? server?.session(sessionId)?.conn : undefined;
        conn?.socket.destroy();
        return { ms: ms + d.between([200, 1000]), lift: () => p.setSlowClose(0) };
      }
      case 'bandwidth': {
        const dir = d.dir();
        p.setBandwidth(dir, d.between([2000, 8000]));
        return { ms: d.between([1000, 4000]), lift: () => p.setBandwidth(dir, null) };
      }
    }
  };
  const scheduleFault = (r: Rig): void => {
    if (!faulting) return;
    r.faultTimer = setTimeout(() => {
      r.faultTimer = undefined;
      if (!faulting) return;
      const kind = r.dice.pick(FAULT_KINDS);
      injected[kind]++;
      const f = applyFault(r, kind);
      if (!f) return scheduleFault(r);
      r.faultTimer = setTimeout(() => {
        r.faultTimer = undefined;
        f.lift();
        scheduleFault(r);
      }, f.ms);
    }, r.dice.between(FAULT_GAP_MS));
  };
  for (const r of rigs) scheduleFault(r);

  // -- two server restarts, at a third and two thirds of the run
  let restarts = 0;
  const restart = async (): Promise<void> => {
    const old = server as HeartbeatServer;
    ledger.closeStartedAt[epoch] = performance.now();
    log(`soak: restarting the server (epoch ${epoch} -> ${epoch + 1})`);
    await old.close();
    await new Promise((r) => setTimeout(r, dice.between(RESTART_DOWNTIME_MS)));
    epoch++;
    server = await startServer(port);
    restarts++;
  };
  const restartTimers: NodeJS.Timeout[] = [];
  let restarting: Promise<void> = Promise.resolve();
  for (const at of [1 / 3, 2 / 3]) {
    restartTimers.push(
      setTimeout(() => {
        restarting = restarting.then(restart).catch((err: unknown) => ledger.violation(`restart failed: ${(err as Error).stack ?? String(err)}`));
      }, at * seconds * 1000),
    );
  }

  // -- the chaos phase
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of restartTimers) clearTimeout(t);
  await restarting;
  faulting = false;
  for (const r of rigs) {
    if (r.faultTimer) clearTimeout(r.faultTimer);
    r.faultTimer = undefined;
    r.proxy.clearFaults();
  }
  sending = false;
  clearInterval(ticker);
  log('soak: chaos over, faults lifted; draining');

  // -- drain: every client send settles, and every server send to a session a client still holds
  const current = new Set(rigs.map((r) => r.client.stats().sessionId));
  const drainList: Array<Promise<void>> = rigs.flatMap((r) => [...r.pending]);
  for (const [s, set] of downInFlight) if (current.has(s.id)) drainList.push(...set);
  if (!(await within(Promise.all(drainList), DRAIN_GUARD_MS))) {
    const up = rigs.reduce((n, r) => n + r.pending.size, 0);
    ledger.violation(`drain: ${up} client sends still unacknowledged ${DRAIN_GUARD_MS} ms after the faults were lifted`);
  }
  const reconnects = rigs.reduce((n, r) => n + r.client.stats().reconnects, 0);
  const droppedByClients = rigs.reduce((n, r) => n + r.client.stats().duplicatesDropped, 0);

  // -- close everything: clients (graceful, BYE), proxies, then the server
  await Promise.all(rigs.map((r) => r.client.close()));
  await Promise.all(rigs.map((r) => r.proxy.close()));
  const acted = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const r of rigs) for (const k of FAULT_KINDS) acted[k] += r.proxy.stats().faults[k];
  ledger.closeStartedAt[epoch] = performance.now();
  await server.close();
  ledger.checkComplete();

  const sorted = reconnectSamples.sort((a, b) => a - b);
  return {
    seed,
    seconds,
    clients: clientCount,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: injected[k], acted: acted[k] }])) as SoakResult['faults'],
    restarts,
    reconnects,
    reconnectMs: {
      samples: sorted.length,
      p50: Math.round(percentile(sorted, 50)),
      p99: Math.round(percentile(sorted, 99)),
      max: Math.round(sorted[sorted.length - 1] ?? 0),
    },
    closeCauses,
    up: ledger.upStats(),
    down: ledger.downStats(),
    duplicates: {
      withinEpoch: Array.from({ length: epoch + 1 }, (_, e) => ledger.withinEpoch[e] ?? 0),
      acrossEpochs: { ...ledger.acrossEpochs },
      down: ledger.downDuplicates,
      droppedByClients,
    },
    violations: [...ledger.violations],
    violationCount: ledger.violationCount,
  };
}

// ---- summary ---------------------------------------------------------------

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
  return [
    `soak summary: ${r.clients} clients, ${r.seconds} s of chaos, seed ${r.seed}, wall ${(r.wallMs / 1000).toFixed(1)} s`,
    faults,
    `server restarts: ${r.restarts} (epochs 0..${r.restarts})`,
    `reconnects: ${r.reconnects}; close -> open: p50 ${r.reconnectMs.p50} ms, p99 ${r.reconnectMs.p99} ms, max ${r.reconnectMs.max} ms (${r.reconnectMs.samples} samples)`,
    `connections lost, by cause: ${causes}`,
    messages,
    `duplicates dropped by the clients' own dedup: ${r.duplicates.droppedByClients}`,
    `violations: ${r.violationCount}${r.violations.length ? `\n  ${r.violations.slice(0, 10).join('\n  ')}` : ''}`,
    `unhandled errors/rejections: ${r.unhandled.length}${r.unhandled.length ? `\n  ${r.unhandled.slice(0, 5).join('\n  ')}` : ''}`,
    `handles after close: ${leakList.length === 0 ? 'back to baseline' : JSON.stringify(r.leaks)}; src/ timers tracked: ${r.timerTracking ? 'yes' : 'no'}`,
    `heap after GC: ${(r.heap.startBytes / 2 ** 20).toFixed(1)} MiB -> ${(r.heap.endBytes / 2 ** 20).toFixed(1)} MiB (x${r.heap.ratio.toFixed(3)})`,
  ].join('\n');
}

/** True when the run kept every guarantee (what the CLI's exit code and the Jest test check). */
export function soakPassed(r: SoakResult): boolean {
  return r.violationCount === 0 && r.unhandled.length === 0 && Object.keys(r.leaks).length === 0 && r.heap.ratio <= 1.2;
}

// ---- CLI -------------------------------------------------------------------

function parseArgs(argv: string[]): SoakOptions {
  const out: SoakOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    if (a === '--seconds' || a === '--clients' || a === '--seed') {
      if (!Number.isFinite(v) || v < (a === '--seed' ? 0 : 1)) throw new TypeError(`${a} needs a number, got ${String(argv[i + 1])}`);
      if (a === '--seconds') out.seconds = v;
      else if (a === '--clients') out.clients = Math.floor(v);
      else out.seed = Math.floor(v);
      i++;
    } else {
      throw new TypeError(`unknown argument ${String(a)} (usage: soak.ts --seconds N [--clients N] [--seed N])`);
    }
  }
  return out;
}

if (require.main === module) {
  runSoak(parseArgs(process.argv.slice(2)))
    .then((r) => {
      const ok = soakPassed(r);
      console.log(ok ? 'soak: PASS' : 'soak: FAIL');
      process.exitCode = ok ? 0 : 1;
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
