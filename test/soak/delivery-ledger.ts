/**
 * The delivery ledger: every message sent and delivered in both directions,
 * and every check of the delivery guarantees.
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
 */
import { KEEP_VIOLATIONS } from './parameters';
import type { DirectionStats } from './soak-types';

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/** One client send(): its payload, and when it was acked or why it was rejected. */
export interface UpSend {
  payload: string;
  ackedAt?: number;
  error?: string;
}
interface UpDelivery {
  payload: string;
  epochs: number[];
}
/** One session.send(): whom it was for, when it was acked or why it was rejected, how often it arrived. */
export interface DownSend {
  clientId: string;
  sessionId: string;
  ackedAt?: number;
  error?: string;
  received: number;
}

/** Everything sent and delivered, and every check of the guarantees stated at the top of this file. */
export class Ledger {
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
