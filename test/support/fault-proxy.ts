/**
 * A fault-injecting TCP proxy in plain Node `net`, for integration and chaos
 * tests (the kernel here has no netem and no iptables; see DESIGN.md).
 *
 *   const proxy = new FaultProxy({ target: { host: '127.0.0.1', port } });
 *   const { port } = await proxy.listen();
 *   proxy.setLatency('downstream', 50, 20);
 *   await proxy.close();
 *
 * Faults are set per direction ('upstream' = client → server, 'downstream' =
 * server → client, or 'both'), at any time, and apply to existing and new
 * connections alike. close() destroys every connection, clears every timer and
 * resolves once no handle of the proxy is left.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { ProxyConnection } from './fault-connection';
import {
  noFaults,
  type Direction,
  type DirectionArg,
  type DirectionFaults,
  type FaultKind,
  type PipeHost,
  type SlicerOptions,
} from './fault-pipe';

export type { Direction, DirectionArg, FaultKind, SlicerOptions } from './fault-pipe';

export interface FaultProxyOptions {
  /** Where every accepted connection is forwarded to. */
  target: { host: string; port: number };
  /** Uniform source in [0, 1) for jitter and slice sizes; inject a seeded one for reproducible runs. @default Math.random */
  random?: () => number;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
}

export interface FaultProxyStats {
  connectionsAccepted: number;
  connectionCount: number;
  /** Bytes written onwards, per direction. */
  bytesForwarded: Record<Direction, number>;
  /** Bytes read and discarded (black hole, or the destination already gone), per direction. */
  bytesDropped: Record<Direction, number>;
  /** How often each fault acted: chunks delayed/sliced/throttled/dropped (and FINs held by a black hole), connections reset/cut, closes delayed. */
  faults: Record<FaultKind, number>;
}

/** Emitted as 'fault' each time a fault acts; lets tests wait for the event instead of sleeping. */
export interface FaultEvent {
  kind: FaultKind;
  /** Direction the fault acted on; null for resets, which hit both. */
  dir: Direction | null;
}

interface FaultProxyEvents {
  fault: [FaultEvent];
  /** A client connected (its upstream connection is being opened). */
  connection: [];
  /** Both sockets of a connection have closed; `connectionCount` already excludes it. */
  connectionClosed: [];
}

const FAULT_KINDS: readonly FaultKind[] = ['latency', 'blackhole', 'reset', 'slice', 'limitData', 'slowClose', 'bandwidth'];

export class FaultProxy extends EventEmitter<FaultProxyEvents> {
  private readonly server: net.Server;
  private readonly connections = new Set<ProxyConnection>();
  private readonly faultsByDir: Record<Direction, DirectionFaults> = { upstream: noFaults(), downstream: noFaults() };
  private slowCloseMs = 0;
  private readonly counters: Omit<FaultProxyStats, 'connectionCount'>;
  private readonly host: PipeHost;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: FaultProxyOptions) {
    super();
    const random = options.random ?? Math.random;
    this.counters = {
      connectionsAccepted: 0,
      bytesForwarded: { upstream: 0, downstream: 0 },
      bytesDropped: { upstream: 0, downstream: 0 },
      faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    };
    const self = this;
    this.host = {
      random,
      get slowCloseMs() {
        return self.slowCloseMs;
      },
      faults: (dir) => this.faultsByDir[dir],
      countForwarded: (dir, n) => (this.counters.bytesForwarded[dir] += n),
      countDropped: (dir, n) => (this.counters.bytesDropped[dir] += n),
      countFault: (kind, dir) => this.countFault(kind, dir),
    };
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    // Accept errors (EMFILE …) must not crash the test process; listen() reports its own.
    this.server.on('error', () => undefined);
  }

  /** Starts listening on an ephemeral port (call once); resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(0, host, () => {
        this.server.off('error', onError);
        resolve({ host, port: (this.server.address() as net.AddressInfo).port });
      });
    });
  }

  /** Delays every chunk by `ms` plus a uniform `0..jitterMs`; never reorders. 0, 0 lifts it. */
  setLatency(dir: DirectionArg, ms: number, jitterMs = 0): void {
    checkNonNegative('ms', ms);
    checkNonNegative('jitterMs', jitterMs);
    this.update(dir, (f) => ((f.latencyMs = ms), (f.jitterMs = jitterMs)));
  }

  /** While on, bytes (and FIN/RST) in that direction are read and silently discarded; sockets stay open. */
  blackhole(dir: DirectionArg, on = true): void {
    this.update(dir, (f) => (f.blackhole = on));
  }

  /** Destroys every current connection with RST on both sides. */
  resetAll(): void {
    for (const c of [...this.connections]) {
      c.reset();
      this.countFault('reset', null);
    }
  }

  /** Re-cuts chunks into random pieces of minBytes..maxBytes, delayMs apart; null lifts it. */
  setSlicer(dir: DirectionArg, slicer: SlicerOptions | null): void {
    if (slicer) {
      if (!Number.isInteger(slicer.minBytes) || slicer.minBytes < 1) throw new TypeError(`slicer.minBytes must be an integer >= 1, got ${slicer.minBytes}`);
      if (!Number.isInteger(slicer.maxBytes) || slicer.maxBytes < slicer.minBytes) throw new TypeError(`slicer.maxBytes must be an integer >= minBytes, got ${slicer.maxBytes}`);
      checkNonNegative('slicer.delayMs', slicer.delayMs);
    }
    const copy = slicer ? { ...slicer } : null;
    this.update(dir, (f) => (f.slicer = copy));
  }

  /** Each connection, current and new, is cut (both sides destroyed) after `nBytes` more bytes in that direction; null lifts it. */
  limitData(dir: DirectionArg, nBytes: number | null): void {
    if (nBytes !== null && (!Number.isInteger(nBytes) || nBytes < 0)) throw new TypeError(`nBytes must be an integer >= 0 or null, got ${nBytes}`);
    this.update(dir, (f) => (f.limitBytes = nBytes));
    for (const d of directions(dir)) for (const c of [...this.connections]) c.pipe(d).setLimit(nBytes);
  }

  /** When one side ends or closes, the other side learns of it `ms` later. */
  setSlowClose(ms: number): void {
    checkNonNegative('ms', ms);
    this.slowCloseMs = ms;
  }

  /** Caps the throughput of a direction; null lifts it. */
  setBandwidth(dir: DirectionArg, bytesPerSecond: number | null): void {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new TypeError(`bytesPerSecond must be > 0 or null, got ${bytesPerSecond}`);
    this.update(dir, (f) => (f.bytesPerSecond = bytesPerSecond));
  }

  /** Lifts every fault. Bytes already queued keep their delivery time; closes already delayed stay delayed. */
  clearFaults(): void {
    this.faultsByDir.upstream = noFaults();
    this.faultsByDir.downstream = noFaults();
    this.slowCloseMs = 0;
    for (const c of [...this.connections]) {
      c.upstream.setLimit(null);
      c.downstream.setLimit(null);
    }
    this.notify();
  }

  /** Number of live connection pairs. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** A snapshot of the counters. */
  stats(): FaultProxyStats {
    const c = this.counters;
    return {
      connectionsAccepted: c.connectionsAccepted,
      connectionCount: this.connections.size,
      bytesForwarded: { ...c.bytesForwarded },
      bytesDropped: { ...c.bytesDropped },
      faults: { ...c.faults },
    };
  }

  /** Destroys every connection, clears every timer and closes the server. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = [...this.connections].map((c) => c.closed);
      for (const c of [...this.connections]) c.destroy();
      const serverClosed = new Promise<void>((resolve) => {
        if (this.server.listening) this.server.close(() => resolve());
        else resolve();
      });
      await Promise.all([serverClosed, ...closed]);
      await handlesReleased();
    })();
    return this.closing;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.closing) {
      client.destroy();
      return;
    }
    this.counters.connectionsAccepted++;
    client.setNoDelay(true);
    const { host, port } = this.options.target;
    const upstream = net.connect({ host, port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    const conn = new ProxyConnection(
      client,
      upstream,
      this.host,
      (dir) => this.countFault('limitData', dir),
      (c) => {
        this.connections.delete(c);
        this.emit('connectionClosed');
      },
    );
    this.connections.add(conn);
    this.emit('connection');
  }

  private countFault(kind: FaultKind, dir: Direction | null): void {
    this.counters.faults[kind]++;
    this.emit('fault', { kind, dir });
  }

  private update(dir: DirectionArg, change: (f: DirectionFaults) => void): void {
    for (const d of directions(dir)) change(this.faultsByDir[d]);
    this.notify();
  }

  private notify(): void {
    for (const c of [...this.connections]) {
      c.upstream.faultsChanged();
      c.downstream.faultsChanged();
    }
  }
}

/**
 * Node emits a server's 'close' before libuv has released the handle: it stays
 * in process.getActiveResourcesInfo() until the loop's close phase has run.
 * Two setImmediate turns always span one close phase, wherever we start.
 */
function handlesReleased(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function directions(dir: DirectionArg): Direction[] {
  if (dir === 'both') return ['upstream', 'downstream'];
  if (dir === 'upstream' || dir === 'downstream') return [dir];
  throw new TypeError(`direction must be 'upstream', 'downstream' or 'both', got ${String(dir)}`);
}

function checkNonNegative(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new TypeError(`${name} must be a finite number >= 0, got ${value}`);
}
