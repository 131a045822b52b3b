/**
 * One chaos run: the server, a rig per client, the traffic and the fault
 * schedules for `seconds` with two server restarts, then the drain, the close
 * and the ledger's end-of-run checks. runSoak() runs it twice (a warm-up, then
 * the measured run) and adds the process-level checks.
 */
import type { ResilientClient } from '../../src';
import { Ledger } from './delivery-ledger';
import { Dice, seeded } from './dice';
import { FaultScheduler } from './fault-scheduler';
import { createRig, type LinkLog, type Rig } from './rig';
import { ServerEpochs } from './server-epochs';
import type { SoakResult } from './soak-types';
import { Traffic } from './traffic';
import { closeAll, drain } from './wind-down';

/** What one run reports; runSoak() adds the rest of SoakResult. */
export type ChaosResult = Omit<SoakResult, 'wallMs' | 'unhandled' | 'leaks' | 'timerTracking' | 'heap' | 'summary'>;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function summarize(samples: number[]): { samples: number; p50: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { samples: s.length, p50: Math.round(percentile(s, 50)), p99: Math.round(percentile(s, 99)), max: Math.round(s[s.length - 1] ?? 0) };
}

/** One run: a server per epoch, the rigs, the traffic, the faults, and the ledger that checks them. */
export class Chaos {
  private readonly ledger = new Ledger();
  private readonly rigs: Rig[] = [];
  private readonly links: LinkLog;
  private readonly servers: ServerEpochs;
  private readonly traffic: Traffic;
  private readonly faults: FaultScheduler;

  constructor(
    private readonly seconds: number,
    private readonly clientCount: number,
    private readonly seed: number,
    private readonly log: (line: string) => void,
  ) {
    // One PRNG for the run's own draws (payload padding, restart downtime); each rig has its own.
    const dice = new Dice(seeded(seed));
    this.servers = new ServerEpochs(this.ledger, dice, log);
    this.links = { closeCauses: {}, reconnectSamples: [], openedInEpoch: [], epoch: () => this.servers.epoch };
    this.traffic = new Traffic(this.rigs, this.servers, this.ledger, dice);
    this.faults = new FaultScheduler(this.servers, this.ledger);
  }

  async run(): Promise<ChaosResult> {
    this.log(`soak: ${this.clientCount} clients, ${this.seconds} s, seed ${this.seed}`);
    await this.servers.start();
    for (let i = 0; i < this.clientCount; i++) this.rigs.push(await createRig(i, this.seed, this.servers.port, this.ledger, this.links));
    await Promise.all(this.rigs.map((r) => r.client.connect()));
    this.log(`soak: ${this.clientCount} clients connected; chaos for ${this.seconds} s`);

    this.traffic.start();
    this.faults.start(this.rigs);
    await this.servers.restartTwice(this.seconds);
    this.faults.stop();
    this.traffic.stop();
    this.log('soak: chaos over, faults lifted; draining');

    await drain(this.rigs, this.traffic, this.servers, this.ledger);
    const sum = (f: (s: ReturnType<ResilientClient['stats']>) => number): number => this.rigs.reduce((n, r) => n + f(r.client.stats()), 0);
    const stats = { reconnects: sum((s) => s.reconnects), dropped: sum((s) => s.duplicatesDropped), out: sum((s) => s.messagesOut), in: sum((s) => s.messagesIn) };
    const orphanSessions = await closeAll(this.rigs, this.servers, this.ledger, this.log);
    const faults = this.faults.perKind();

    const ledger = this.ledger;
    ledger.checkComplete();
    const up = ledger.upStats();
    if (stats.out !== up.acked) ledger.violation(`stats: clients' messagesOut sum to ${stats.out}, but ${up.acked} sends were acknowledged`);
    if (stats.in !== ledger.downDelivered) ledger.violation(`stats: clients' messagesIn sum to ${stats.in}, but ${ledger.downDelivered} 'message' events fired`);
    const reconnectMs = summarize(this.links.reconnectSamples);
    return {
      seed: this.seed,
      seconds: this.seconds,
      clients: this.clientCount,
      faults,
      restarts: this.servers.restarts,
      clientsPerEpoch: Array.from({ length: this.servers.epoch + 1 }, (_, e) => this.links.openedInEpoch[e]?.size ?? 0),
      serverTakeovers: this.servers.takeovers,
      reconnects: stats.reconnects,
      reconnectMs: { samples: reconnectMs.samples, p50: reconnectMs.p50, p99: reconnectMs.p99, max: reconnectMs.max },
      blackholeDetectionMs: Object.fromEntries(
        Object.entries(this.faults.detection).map(([k, v]) => {
          const s = summarize(v);
          return [k, { samples: s.samples, p50: s.p50, max: s.max }];
        }),
      ),
      blackholeLiftCuts: this.faults.tally.liftCuts,
      resetsSkipped: this.faults.tally.resetsSkipped,
      closeCauses: this.links.closeCauses,
      up,
      down: ledger.downStats(),
      orphanSessions,
      duplicates: {
        withinEpoch: Array.from({ length: this.servers.epoch + 1 }, (_, e) => ledger.withinEpoch[e] ?? 0),
        acrossEpochs: { ...ledger.acrossEpochs },
        down: ledger.downDuplicates,
        droppedByClients: stats.dropped,
      },
      violations: [...ledger.violations],
      violationCount: ledger.violationCount,
    };
  }
}
