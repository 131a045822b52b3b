/**
 * The fault scheduler: on each proxy, one fault at a time from the catalogue
 * (fault-catalogue.ts), the next one FAULT_GAP_MS after the last was lifted. A
 * fault is lifted once its minimum time is over and, for a black hole, once the
 * client's link was declared dead; how long that took is recorded, and a black
 * hole not detected within DETECTION_GUARD_MS is a violation.
 */
import { performance } from 'node:perf_hooks';
import type { FaultKind } from '../support/fault-proxy';
import type { Ledger } from './delivery-ledger';
import { applyFault, type ActiveFault, type FaultTally } from './fault-catalogue';
import { DETECTION_GUARD_MS, FAULT_GAP_MS, FAULT_KINDS } from './parameters';
import type { Rig } from './rig';
import type { ServerEpochs } from './server-epochs';
import type { SoakResult } from './soak-types';

/** The fault schedule of one rig. */
interface Slot {
  /** The fault in force, if any, and how to stop waiting for its link to be declared dead. */
  active: ActiveFault | undefined;
  stopWaiting: (() => void) | undefined;
  /** Pending fault timers (gap, duration, detection guard). */
  timers: Set<NodeJS.Timeout>;
}

function zeroPerKind(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

/** Runs every rig's fault schedule between start() and stop(), and counts what it did. */
export class FaultScheduler {
  private readonly injected = zeroPerKind();
  /** Time from a black hole's start to the client's 'close', by the direction made dark, in ms. */
  readonly detection: Record<string, number[]> = { downstream: [], both: [], upstream: [] };
  readonly tally: FaultTally = { liftCuts: 0, resetsSkipped: 0 };
  private readonly slots = new Map<Rig, Slot>();
  private faulting = false;

  constructor(
    private readonly servers: ServerEpochs,
    private readonly ledger: Ledger,
  ) {}

  start(rigs: readonly Rig[]): void {
    this.faulting = true;
    for (const r of rigs) {
      const slot: Slot = { active: undefined, stopWaiting: undefined, timers: new Set() };
      this.slots.set(r, slot);
      this.scheduleFault(r, slot);
    }
  }

  /** Cancels every pending fault, lifts the ones in force and clears every proxy. */
  stop(): void {
    this.faulting = false;
    for (const [r, slot] of this.slots) {
      for (const t of slot.timers) clearTimeout(t);
      slot.timers.clear();
      this.endFault(slot);
      r.proxy.clearFaults();
    }
  }

  /** Faults injected, and how often each acted on the proxies (cuts on lifting a black hole not counted as limitData). */
  perKind(): SoakResult['faults'] {
    const acted = zeroPerKind();
    for (const r of this.slots.keys()) for (const k of FAULT_KINDS) acted[k] += r.proxy.stats().faults[k];
    acted.limitData -= this.tally.liftCuts;
    return Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: this.injected[k], acted: acted[k] }])) as SoakResult['faults'];
  }

  private slotTimer(s: Slot, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      s.timers.delete(t);
      fn();
    }, ms);
    s.timers.add(t);
  }

  private scheduleFault(r: Rig, s: Slot): void {
    if (!this.faulting) return;
    this.slotTimer(s, r.dice.between(FAULT_GAP_MS), () => {
      if (!this.faulting) return;
      const kind = r.dice.pick(FAULT_KINDS);
      this.injected[kind]++;
      const f = applyFault(kind, r, this.servers.server, this.tally);
      if (!f) return this.scheduleFault(r, s);
      s.active = f;
      const injectedAt = performance.now();
      let minDone = false;
      // Only a link that is open can be hit; one being opened fails its handshake.
      let closed = f.untilClosed === undefined || r.client.state !== 'open';
      const maybeEnd = (): void => {
        if (!minDone || !closed || s.active !== f) return;
        this.endFault(s);
        this.scheduleFault(r, s);
      };
      if (!closed) {
        const onClose = (): void => {
          closed = true;
          this.detection[f.untilClosed as string]?.push(performance.now() - injectedAt);
          maybeEnd();
        };
        r.client.once('close', onClose);
        s.stopWaiting = () => r.client.off('close', onClose);
        this.slotTimer(s, DETECTION_GUARD_MS, () => {
          if (closed || s.active !== f) return;
          this.ledger.violation(`${r.id}: ${kind} (${f.untilClosed}) not detected within ${DETECTION_GUARD_MS} ms`);
          closed = true;
          maybeEnd();
        });
      }
      this.slotTimer(s, f.minMs, () => {
        minDone = true;
        maybeEnd();
      });
    });
  }

  private endFault(s: Slot): void {
    const f = s.active;
    if (!f) return;
    s.active = undefined;
    s.stopWaiting?.();
    s.stopWaiting = undefined;
    f.lift();
  }
}
