/**
 * The soak's public shapes: the options runSoak() takes and the result it
 * returns (and the CLI prints through formatSummary()).
 */
import type { FaultKind } from '../support/fault-proxy';

/** What runSoak() takes. */
export interface SoakOptions {
  /** Length of the chaos phase, in s. @default 60 */
  seconds?: number;
  /** Number of clients (one proxy each). @default 100 */
  clients?: number;
  /** Receives progress lines and the final summary. @default console.log */
  log?: (line: string) => void;
  /** Seed of the random draws (faults, sizes, proxy jitter). Draws interleave with real timing, so the same seed gives a similar run, not the same one. @default random */
  seed?: number;
}

/** Message counts of one direction (client → server or server → client). */
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

/** What runSoak() returns: the counts, the checks, and the printed summary. */
export interface SoakResult {
  seed: number;
  seconds: number;
  clients: number;
  /** Wall time of the whole run (setup, chaos, drain, close, checks), in ms. */
  wallMs: number;
  faults: Record<FaultKind, { injected: number; acted: number }>;
  restarts: number;
  /** Per server epoch, how many clients opened a connection to that epoch's server. */
  clientsPerEpoch: number[];
  /** Stale connections a server evicted because their session reconnected first (its 'error' ERR_SESSION_TAKEN_OVER). */
  serverTakeovers: number;
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
