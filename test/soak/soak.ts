/**
 * Chaos soak (issue 4, part 3): many ResilientClients, each through its own
 * FaultProxy, to one HeartbeatServer on 127.0.0.1, under random faults and two
 * server restarts; afterwards every delivery guarantee, the process's handles
 * and its heap are checked.
 *
 *   npx tsx test/soak/soak.ts --seconds 60 --clients 100 [--seed 42]   (exit code 1 on any failure)
 *   const result = await runSoak({ seconds: 20, clients: 100, log: console.log });
 *
 * One proxy per client (not a few shared ones): a fault then hits exactly one
 * client's link, as a real flaky path does, and 100 independent fault
 * schedules overlap in every combination across the fleet. Each proxy runs one
 * fault at a time, the next one 0.2-2 s after the last was lifted:
 *   latency     0.02-0.3 s + jitter, one way at most 0.5 s (never trips the heartbeat), 1-4 s
 *   blackhole   one or both directions, until the client's link was declared dead (≥ 1.8 s)
 *   reset       RST on both sides of the current connection
 *   slice       chunks re-cut into pieces of 1..n bytes (n = 4-64), 1-3 s
 *   limitData   the connection is cut after 1-120 more bytes (mid-frame), new ones too, 0.3-1.5 s
 *   slowClose   the server drops the link; the client hears of it 0.2-1.5 s later
 *   bandwidth   2-8 KB/s, 1-4 s
 * and the server is restarted (a new HeartbeatServer on the same port, all
 * sessions lost) at a third and at two thirds of the run.
 *
 * Every client sends one message per 100 ms while fewer than 4 await their
 * ack; the server does the same on every connected session.
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
 *
 * One file (ledger, fault catalogue, run, summary, CLI) because the issue asked
 * for exactly these files; the sections below are the seams to split along.
 */
import type { Socket } from 'node:net';
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
  /** Time from a black hole's start to the client's 'close', by the direction made dark, in ms. */
  blackholeDetectionMs: Record<string, { samples: number; p50: number; max: number }>;
  /** Connection cuts when a black hole was lifted (see the blackhole fault); not in faults.limitData.acted. */
  blackholeLiftCuts: number;
  /** 'reset' faults skipped because a connection was half-closed (see halfClosed()). */
  resetsSkipped: number;
  /** Sessions the last server still held after every client closed (created by a HELLO whose WELCOME was lost). */
  orphanSessions: number;
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
/** The warm-up run before the heap baseline (see runSoak). */
const WARMUP_SECONDS = 2;
const WARMUP_CLIENTS = 4;
/** Guard on detecting a black hole: only fires when neither heartbeat nor idle sweep works. */
const DETECTION_GUARD_MS = 10_000;
/** Guard on closing clients, proxies and the server: each closes in well under a second. */
const CLOSE_GUARD_MS = 10_000;

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

/**
 * True when a connection of the proxy has a socket that already sent its FIN.
 * FaultProxy.resetAll() must not run then: Node's resetAndDestroy() on a
 * socket whose shutdown is still pending fails with EINVAL, emits 'error' and
 * never 'close', and the TCP handle leaks (then proxy.close() never resolves).
 * test/support/fault-pipe.ts resetSocket() does not guard against it; reported.
 */
function halfClosed(proxy: FaultProxy): boolean {
  const conns = (proxy as unknown as { connections: Set<{ client: Socket; server: Socket }> }).connections;
  for (const c of conns) {
    for (const sock of [c.client, c.server]) if (sock.writableEnded && !sock.destroyed) return true;
  }
  return false;
}

function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

// ---- the delivery ledger ---------------------------------------------------

interface UpSend {
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

/** One client, its proxy, and what the traffic and fault schedules keep for it. */
interface Rig {
  id: string;
  client: ResilientClient;
  proxy: FaultProxy;
  dice: Dice;
  seq: number;
  inFlight: number;
  pending: Set<Promise<void>>;
  /** The fault in force, if any, and how to stop waiting for its link to be declared dead. */
  active: ActiveFault | undefined;
  stopWaiting: (() => void) | undefined;
  /** Pending fault timers (gap, duration, detection guard). */
  timers: Set<NodeJS.Timeout>;
  closedAt: number | undefined;
}

interface ActiveFault {
  /** Shortest time the fault stays on, in ms. */
  minMs: number;
  /** When set, it also stays on until the client's link was declared dead; the value labels the detection time. */
  untilClosed?: string;
  lift: () => void;
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
  const unhandled: string[] = [];
  const onUncaught = (err: unknown): void => void unhandled.push(`uncaughtException: ${(err as Error)?.stack ?? String(err)}`);
  const onRejection = (err: unknown): void => void unhandled.push(`unhandledRejection: ${(err as Error)?.stack ?? String(err)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  let chaos: ChaosResult;
  let heapStart: number;
  try {
    // A short warm-up over the same code paths first: the heap baseline must
    // already hold compiled code and lazily built internals (~3 MiB, the same
    // after 4 s or 60 s of chaos), or a small process would fail the 20% bound
    // on what is a one-time cost and not a leak. It is checked like the run.
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const warm = await new Chaos(WARMUP_SECONDS, WARMUP_CLIENTS, seed + 7919, () => undefined).run();
    gc();
    heapStart = process.memoryUsage().heapUsed;
    chaos = await new Chaos(options.seconds ?? 60, options.clients ?? 100, seed, log).run();
    chaos.violations = [...warm.violations.map((v) => `warm-up: ${v}`), ...chaos.violations].slice(0, KEEP_VIOLATIONS);
    chaos.violationCount += warm.violationCount;
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  }
  const leaks = await leaksSince(baseline);
  // The ledgers and every client are out of reach now: what is left is what leaked.
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

/** One run: a server per epoch, the rigs, the traffic, the faults, and the ledger that checks them. */
class Chaos {
  private readonly ledger = new Ledger();
  private readonly dice: Dice;
  private readonly rigs: Rig[] = [];
  private epoch = 0;
  private server!: HeartbeatServer;
  private port = 0;
  private restarts = 0;
  /** Sessions of the current server, for the server → client traffic. */
  private readonly live = new Set<Session>();
  private readonly downInFlight = new Map<Session, Set<Promise<void>>>();
  private readonly downSeq = new Map<Session, number>();
  private sending = false;
  private faulting = false;
  private readonly injected = zeroPerKind();
  private readonly closeCauses: Record<string, number> = {};
  private readonly reconnectSamples: number[] = [];
  private readonly detection: Record<string, number[]> = { downstream: [], both: [], upstream: [] };
  private liftCuts = 0;
  private resetsSkipped = 0;

  constructor(
    private readonly seconds: number,
    private readonly clientCount: number,
    private readonly seed: number,
    private readonly log: (line: string) => void,
  ) {
    this.dice = new Dice(seeded(seed));
  }

  async run(): Promise<ChaosResult> {
    this.log(`soak: ${this.clientCount} clients, ${this.seconds} s, seed ${this.seed}`);
    this.server = await this.startServer(0);
    this.port = (this.server.address() as { port: number }).port;
    for (let i = 0; i < this.clientCount; i++) this.rigs.push(await this.addRig(i));
    await Promise.all(this.rigs.map((r) => r.client.connect()));
    this.log(`soak: ${this.clientCount} clients connected; chaos for ${this.seconds} s`);

    this.sending = true;
    const ticker = setInterval(() => this.tick(), TICK_MS);
    this.faulting = true;
    for (const r of this.rigs) this.scheduleFault(r);
    await this.restartTwice();
    this.faulting = false;
    for (const r of this.rigs) {
      for (const t of r.timers) clearTimeout(t);
      r.timers.clear();
      this.endFault(r);
      r.proxy.clearFaults();
    }
    this.sending = false;
    clearInterval(ticker);
    this.log('soak: chaos over, faults lifted; draining');

    await this.drain();
    const sum = (f: (s: ReturnType<ResilientClient['stats']>) => number): number => this.rigs.reduce((n, r) => n + f(r.client.stats()), 0);
    const stats = { reconnects: sum((s) => s.reconnects), dropped: sum((s) => s.duplicatesDropped), out: sum((s) => s.messagesOut), in: sum((s) => s.messagesIn) };
    const orphanSessions = await this.closeAll();
    const acted = zeroPerKind();
    for (const r of this.rigs) for (const k of FAULT_KINDS) acted[k] += r.proxy.stats().faults[k];
    acted.limitData -= this.liftCuts;

    const ledger = this.ledger;
    ledger.checkComplete();
    const up = ledger.upStats();
    if (stats.out !== up.acked) ledger.violation(`stats: clients' messagesOut sum to ${stats.out}, but ${up.acked} sends were acknowledged`);
    if (stats.in !== ledger.downDelivered) ledger.violation(`stats: clients' messagesIn sum to ${stats.in}, but ${ledger.downDelivered} 'message' events fired`);
    const reconnectMs = summarize(this.reconnectSamples);
    return {
      seed: this.seed,
      seconds: this.seconds,
      clients: this.clientCount,
      faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: this.injected[k], acted: acted[k] }])) as SoakResult['faults'],
      restarts: this.restarts,
      reconnects: stats.reconnects,
      reconnectMs: { samples: reconnectMs.samples, p50: reconnectMs.p50, p99: reconnectMs.p99, max: reconnectMs.max },
      blackholeDetectionMs: Object.fromEntries(
        Object.entries(this.detection).map(([k, v]) => {
          const s = summarize(v);
          return [k, { samples: s.samples, p50: s.p50, max: s.max }];
        }),
      ),
      blackholeLiftCuts: this.liftCuts,
      resetsSkipped: this.resetsSkipped,
      closeCauses: this.closeCauses,
      up,
      down: ledger.downStats(),
      orphanSessions,
      duplicates: {
        withinEpoch: Array.from({ length: this.epoch + 1 }, (_, e) => ledger.withinEpoch[e] ?? 0),
        acrossEpochs: { ...ledger.acrossEpochs },
        down: ledger.downDuplicates,
        droppedByClients: stats.dropped,
      },
      violations: [...ledger.violations],
      violationCount: ledger.violationCount,
    };
  }

  // -- setup

  private async startServer(port: number): Promise<HeartbeatServer> {
    const e = this.epoch;
    const s = new HeartbeatServer({
      host: '127.0.0.1',
      port,
      idleTimeoutMs: SERVER_IDLE_MS,
      sweepIntervalMs: SERVER_SWEEP_MS,
      handshakeTimeoutMs: SERVER_IDLE_MS,
    });
    s.on('message', (session, payload, meta) => this.ledger.onUp(e, session.clientId, meta.id, payload));
    s.on('connection', (session) => this.live.add(session));
    s.on('sessionEnd', (session) => this.live.delete(session));
    s.on('error', (err) => {
      if (FORBIDDEN_CODES.has(err.code)) this.ledger.violation(`server epoch ${e}: ${err.code} ${err.message}`);
    });
    await s.listen();
    return s;
  }

  private async addRig(i: number): Promise<Rig> {
    const dice = new Dice(seeded(this.seed + 1 + i));
    const proxy = new FaultProxy({ target: { host: '127.0.0.1', port: this.port }, random: dice.random });
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
    const rig: Rig = { id, client, proxy, dice, seq: 0, inFlight: 0, pending: new Set(), active: undefined, stopWaiting: undefined, timers: new Set(), closedAt: undefined };
    client.on('close', (e) => {
      if (!e.error) return; // our own close() at the end
      bump(this.closeCauses, e.error.code);
      if (FORBIDDEN_CODES.has(e.error.code)) this.ledger.violation(`client ${id}: ${e.error.code} ${e.error.message}`);
      rig.closedAt = performance.now();
    });
    client.on('open', () => {
      if (rig.closedAt !== undefined) this.reconnectSamples.push(performance.now() - rig.closedAt);
      rig.closedAt = undefined;
    });
    client.on('giveUp', (err) => this.ledger.violation(`client ${id} gave up: ${err.code} ${err.message}`));
    client.on('error', () => undefined); // counted through 'close'; eventemitter3 would not throw anyway
    client.on('message', (payload, meta) => this.ledger.onDown(id, payload, meta));
    return rig;
  }

  // -- traffic: one tick drives both directions

  private tick(): void {
    if (!this.sending) return;
    for (const r of this.rigs) if (r.inFlight < WINDOW) this.sendUp(r);
    for (const s of this.live) {
      if (!s.connected) continue;
      let inFlight = this.downInFlight.get(s);
      if (!inFlight) this.downInFlight.set(s, (inFlight = new Set()));
      if (inFlight.size < WINDOW) this.sendDown(s, inFlight);
    }
  }

  private pad(): string {
    return '.'.repeat(Math.floor(this.dice.random() * (PAD_MAX + 1)));
  }

  private sendUp(r: Rig): void {
    const seq = ++r.seq;
    const rec: UpSend = { payload: `u|${r.id}|${seq}|${this.pad()}` };
    this.ledger.upSends.set(rec.payload, rec);
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
  }

  private sendDown(s: Session, inFlight: Set<Promise<void>>): void {
    const n = (this.downSeq.get(s) ?? 0) + 1;
    this.downSeq.set(s, n);
    const payload = `d|${this.epoch}|${s.clientId}|${s.id}|${n}|${this.pad()}`;
    const rec: DownSend = { clientId: s.clientId, sessionId: s.id, received: 0 };
    this.ledger.downSends.set(payload, rec);
    const p = s.send(payload).then(
      () => void (rec.ackedAt = performance.now()),
      (err: unknown) => void (rec.error = codeOf(err)),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  // -- faults: one at a time per proxy, a random gap between them

  private applyFault(r: Rig, kind: FaultKind): ActiveFault | undefined {
    const p = r.proxy;
    const d = r.dice;
    switch (kind) {
      case 'latency': {
        const dir = d.dir();
        const ms = d.between([20, LATENCY_MAX_MS * 0.6]);
        p.setLatency(dir, ms, d.between([0, LATENCY_MAX_MS - ms]));
        return { minMs: d.between([1000, 4000]), lift: () => p.setLatency(dir, 0, 0) };
      }
      case 'blackhole': {
        const dir = d.dir();
        p.blackhole(dir);
        return {
          // Long enough to trip the client's heartbeat; and held until the link it
          // hit was declared dead (by the client's heartbeat, or the server's idle
          // sweep when only upstream is dark and the server keeps pushing): a proxy
          // discards what it black-holes and cannot retransmit it as TCP would
          // after a real outage, so a link that outlived the hole would go on with
          // a gap in its byte stream.
          minMs: d.between([HEARTBEAT.timeoutMs + 300, HEARTBEAT.timeoutMs + 1100]),
          untilClosed: dir,
          lift: () => {
            // Connections opened during the hole lost their HELLO or WELCOME, and a
            // link already dropped at one end holds its FIN: cut them all before
            // the hole lifts (as the first retransmission after a real outage
            // would meet an RST). A zero data budget cuts with destroy(), not
            // resetAll(): see halfClosed().
            const before = p.stats().faults.limitData;
            p.limitData('both', 0);
            p.limitData('both', null);
            this.liftCuts += p.stats().faults.limitData - before;
            p.blackhole(dir, false);
          },
        };
      }
      case 'reset':
        if (halfClosed(p)) this.resetsSkipped++;
        else p.resetAll();
        return undefined;
      case 'slice': {
        const dir = d.dir();
        p.setSlicer(dir, { minBytes: 1, maxBytes: d.between([4, 64]), delayMs: d.between([0, 1]) });
        return { minMs: d.between([1000, 3000]), lift: () => p.setSlicer(dir, null) };
      }
      case 'limitData': {
        // Every frame here is 13..300 bytes: a budget of 1..120 bytes ends mid-frame
        // (or mid-HELLO), on the current connection and on each new one while it lasts.
        const dir = d.dir();
        p.limitData(dir, d.between([1, 120]));
        return { minMs: d.between([300, 1500]), lift: () => p.limitData(dir, null) };
      }
      case 'slowClose': {
        // The server drops this client's connection; the client hears of it only
        // `ms` later (or notices through its heartbeat first).
        const ms = d.between([200, 1500]);
        p.setSlowClose(ms);
        const sessionId = r.client.stats().sessionId;
        const conn = sessionId ? this.server.session(sessionId)?.conn : undefined;
        conn?.socket.destroy();
        return { minMs: ms + d.between([200, 1000]), lift: () => p.setSlowClose(0) };
      }
      case 'bandwidth': {
        const dir = d.dir();
        p.setBandwidth(dir, d.between([2000, 8000]));
        return { minMs: d.between([1000, 4000]), lift: () => p.setBandwidth(dir, null) };
      }
    }
  }

  private rigTimer(r: Rig, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      r.timers.delete(t);
      fn();
    }, ms);
    r.timers.add(t);
  }

  private scheduleFault(r: Rig): void {
    if (!this.faulting) return;
    this.rigTimer(r, r.dice.between(FAULT_GAP_MS), () => {
      if (!this.faulting) return;
      const kind = r.dice.pick(FAULT_KINDS);
      this.injected[kind]++;
      const f = this.applyFault(r, kind);
      if (!f) return this.scheduleFault(r);
      r.active = f;
      const injectedAt = performance.now();
      let minDone = false;
      // Only a link that is open can be hit; one being opened fails its handshake.
      let closed = f.untilClosed === undefined || r.client.state !== 'open';
      const maybeEnd = (): void => {
        if (!minDone || !closed || r.active !== f) return;
        this.endFault(r);
        this.scheduleFault(r);
      };
      if (!closed) {
        const onClose = (): void => {
          closed = true;
          this.detection[f.untilClosed as string]?.push(performance.now() - injectedAt);
          maybeEnd();
        };
        r.client.once('close', onClose);
        r.stopWaiting = () => r.client.off('close', onClose);
        this.rigTimer(r, DETECTION_GUARD_MS, () => {
          if (closed || r.active !== f) return;
          this.ledger.violation(`${r.id}: ${kind} (${f.untilClosed}) not detected within ${DETECTION_GUARD_MS} ms`);
          closed = true;
          maybeEnd();
        });
      }
      this.rigTimer(r, f.minMs, () => {
        minDone = true;
        maybeEnd();
      });
    });
  }

  private endFault(r: Rig): void {
    const f = r.active;
    if (!f) return;
    r.active = undefined;
    r.stopWaiting?.();
    r.stopWaiting = undefined;
    f.lift();
  }

  // -- restarts: at a third and two thirds of the chaos phase, which this awaits

  private async restartTwice(): Promise<void> {
    let restarting: Promise<void> = Promise.resolve();
    const timers = [1 / 3, 2 / 3].map((at) =>
      setTimeout(() => {
        restarting = restarting
          .then(() => this.restart())
          .catch((err: unknown) => this.ledger.violation(`restart failed: ${(err as Error).stack ?? String(err)}`));
      }, at * this.seconds * 1000),
    );
    await new Promise((r) => setTimeout(r, this.seconds * 1000));
    for (const t of timers) clearTimeout(t);
    await restarting;
  }

  private async restart(): Promise<void> {
    this.ledger.closeStartedAt[this.epoch] = performance.now();
    this.log(`soak: restarting the server (epoch ${this.epoch} -> ${this.epoch + 1})`);
    await this.server.close();
    await new Promise((r) => setTimeout(r, this.dice.between(RESTART_DOWNTIME_MS)));
    this.epoch++;
    this.server = await this.startServer(this.port);
    this.restarts++;
  }

  // -- the end

  /** Waits for every client send, and every server send to a session a client still holds, to settle. */
  private async drain(): Promise<void> {
    const current = new Set(this.rigs.map((r) => r.client.stats().sessionId));
    const all: Array<Promise<void>> = this.rigs.flatMap((r) => [...r.pending]);
    for (const [s, set] of this.downInFlight) if (current.has(s.id)) all.push(...set);
    if (await within(Promise.all(all), DRAIN_GUARD_MS)) return;
    const up = this.rigs.reduce((n, r) => n + r.pending.size, 0);
    this.ledger.violation(`drain: ${up} client sends still unacknowledged ${DRAIN_GUARD_MS} ms after the faults were lifted`);
    for (const r of this.rigs) {
      if (r.pending.size === 0) continue;
      const st = r.client.stats();
      const session = st.sessionId ? this.server.session(st.sessionId) : undefined;
      this.ledger.violation(
        `drain: ${r.id} stuck: state ${st.state}, session ${st.sessionId} (server: ${session ? (session.connected ? 'connected' : 'retained') : 'unknown'}), ` +
          `queued ${st.queued}, inFlight ${st.inFlight}, proxy connections ${r.proxy.connectionCount}, last close ${r.closedAt === undefined ? 'none' : `${Math.round(performance.now() - r.closedAt)} ms ago`}`,
      );
    }
  }

  /** Closes clients (graceful: BYE), proxies, then the server; returns the sessions the server still held after the clients' BYEs. */
  private async closeAll(): Promise<number> {
    this.log('soak: drained; closing clients, proxies and the server');
    if (!(await within(Promise.all(this.rigs.map((r) => r.client.close())), CLOSE_GUARD_MS))) {
      const open = this.rigs.filter((r) => r.client.state !== 'closed').map((r) => `${r.id} (${r.client.state})`);
      this.ledger.violation(`close: clients not closed within ${CLOSE_GUARD_MS} ms: ${open.join(', ')}`);
    }
    // Every client said BYE, which ends its session: what is left was never known to a
    // client (its WELCOME was lost) and waits out sessionTtlMs.
    const orphanSessions = this.server.sessionCount;
    if (!(await within(Promise.all(this.rigs.map((r) => r.proxy.close())), CLOSE_GUARD_MS))) {
      this.ledger.violation(`close: a FaultProxy did not close within ${CLOSE_GUARD_MS} ms (a socket never emitted 'close')`);
    }
    this.ledger.closeStartedAt[this.epoch] = performance.now();
    if (!(await within(this.server.close(), CLOSE_GUARD_MS))) this.ledger.violation(`close: the server did not close within ${CLOSE_GUARD_MS} ms`);
    return orphanSessions;
  }
}

function zeroPerKind(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

function summarize(samples: number[]): { samples: number; p50: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { samples: s.length, p50: Math.round(percentile(s, 50)), p99: Math.round(percentile(s, 99)), max: Math.round(s[s.length - 1] ?? 0) };
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
  let options: SoakOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  runSoak(options)
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
