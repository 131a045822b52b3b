/**
 * The fault catalogue: what each kind of fault does to one client's proxy, and
 * how long it stays. Each proxy runs one fault at a time (see fault-scheduler.ts):
 *   latency     0.02-0.3 s + jitter, one way at most 0.5 s (never trips the heartbeat), 1-4 s
 *   blackhole   one or both directions, until the client's link was declared dead (≥ 1.8 s)
 *   reset       RST on both sides of the current connection
 *   slice       chunks re-cut into pieces of 1..n bytes (n = 4-64), 1-3 s
 *   limitData   the connection is cut after 1-120 more bytes (mid-frame), new ones too, 0.3-1.5 s
 *   slowClose   the server drops the link; the client hears of it 0.2-1.5 s later
 *   bandwidth   2-8 KB/s, 1-4 s
 */
import type { Socket } from 'node:net';
import type { HeartbeatServer } from '../../src/server';
import type { FaultKind, FaultProxy } from '../support/fault-proxy';
import { HEARTBEAT, LATENCY_MAX_MS } from './parameters';
import type { Rig } from './rig';
import { sessionSocket } from '../support/server-internals';

/** A fault in force on one proxy. */
export interface ActiveFault {
  /** Shortest time the fault stays on, in ms. */
  minMs: number;
  /** When set, it also stays on until the client's link was declared dead; the value labels the detection time. */
  untilClosed?: string;
  lift: () => void;
}

/** What the faults did beyond the proxies' own counts. */
export interface FaultTally {
  /** Connection cuts when a black hole was lifted (see the blackhole fault). */
  liftCuts: number;
  /** 'reset' faults skipped because a connection was half-closed (see halfClosed()). */
  resetsSkipped: number;
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

/**
 * Puts fault `kind` on rig `r`'s proxy (the slowClose fault also drops its link
 * on `server`); returns how long it stays and how to lift it, or undefined for a
 * one-shot fault (reset).
 */
export function applyFault(kind: FaultKind, r: Rig, server: HeartbeatServer, tally: FaultTally): ActiveFault | undefined {
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
          tally.liftCuts += p.stats().faults.limitData - before;
          p.blackhole(dir, false);
        },
      };
    }
    case 'reset':
      if (halfClosed(p)) tally.resetsSkipped++;
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
      if (sessionId) sessionSocket(server, sessionId)?.destroy();
      return { minMs: ms + d.between([200, 1000]), lift: () => p.setSlowClose(0) };
    }
    case 'bandwidth': {
      const dir = d.dir();
      p.setBandwidth(dir, d.between([2000, 8000]));
      return { minMs: d.between([1000, 4000]), lift: () => p.setBandwidth(dir, null) };
    }
  }
}
