/**
 * The traffic: every TICK_MS each client sends one message while fewer than
 * WINDOW await their ack, and the server does the same on every connected
 * session. Every send goes into the ledger, then when it was acked or why it
 * was rejected. Payloads name the sender and its send number, padded with
 * 0..PAD_MAX bytes.
 */
import { performance } from 'node:perf_hooks';
import { ResilientError } from '../../src';
import type { Session } from '../../src/server';
import type { DownSend, Ledger, UpSend } from './delivery-ledger';
import type { Dice } from './dice';
import { PAD_MAX, TICK_MS, WINDOW } from './parameters';
import type { Rig } from './rig';
import type { ServerEpochs } from './server-epochs';

function codeOf(err: unknown): string {
  return err instanceof ResilientError ? err.code : String((err as { code?: unknown })?.code ?? err);
}

/** Drives both directions between start() and stop(), one tick at a time. */
export class Traffic {
  private readonly downInFlight = new Map<Session, Set<Promise<void>>>();
  private readonly downSeq = new Map<Session, number>();
  private sending = false;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly rigs: readonly Rig[],
    private readonly servers: ServerEpochs,
    private readonly ledger: Ledger,
    private readonly dice: Dice,
  ) {}

  start(): void {
    this.sending = true;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    this.sending = false;
    clearInterval(this.ticker);
  }

  /** Every client send not yet settled, and every server send to a session a client still holds. */
  unsettled(): Array<Promise<void>> {
    const current = new Set(this.rigs.map((r) => r.client.stats().sessionId));
    const all: Array<Promise<void>> = this.rigs.flatMap((r) => [...r.pending]);
    for (const [s, set] of this.downInFlight) if (current.has(s.id)) all.push(...set);
    return all;
  }

  private tick(): void {
    if (!this.sending) return;
    for (const r of this.rigs) if (r.inFlight < WINDOW) this.sendUp(r);
    for (const s of this.servers.sessions) {
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
    const payload = `d|${this.servers.epoch}|${s.clientId}|${s.id}|${n}|${this.pad()}`;
    const rec: DownSend = { clientId: s.clientId, sessionId: s.id, received: 0 };
    this.ledger.downSends.set(payload, rec);
    const p = s.send(payload).then(
      () => void (rec.ackedAt = performance.now()),
      (err: unknown) => void (rec.error = codeOf(err)),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
}
