/**
 * The reconnect state machine: a pure transition function over a table.
 * No I/O and no timers; the client turns socket events and timer ticks into
 * `MachineEvent`s and carries out the returned effects.
 *
 *   idle -> connecting -> open -> (reconnecting -> connecting)* -> closing -> closed
 *   any active state -> failed (fatal error, retries exhausted, reconnect disabled, the retry hook declined)
 *
 * Closing is a state with data, not flags beside the states: `draining`
 * (waiting for acks, then BYE) or `releasing` (the socket is being torn down,
 * `closed` follows once its handle is released), and the reason destroy()
 * was given, if any. So "close() while connecting" is a row of the table.
 */
import type { ErrorKind } from './errors';

export const STATES = ['idle', 'connecting', 'open', 'reconnecting', 'closing', 'closed', 'failed'] as const;
export type ClientState = (typeof STATES)[number];

export const EVENT_TYPES = ['connect', 'established', 'lost', 'retryDue', 'stable', 'close', 'drainTimeout', 'destroy', 'closed'] as const;
export type MachineEventType = (typeof EVENT_TYPES)[number];

export type MachineEvent =
  /** The user called connect(). */
  | { type: 'connect' }
  /** The handshake finished: the connection is usable. */
  | { type: 'established' }
  /**
   * A connection attempt failed, or an open connection was lost. `declined`: the user's retry hook said give up;
   * `retryAtOnce`: the error's code asks for an immediate first retry (ERR_NETWORK_CHANGED).
   */
  | { type: 'lost'; kind: ErrorKind; declined?: boolean; retryAtOnce?: boolean }
  /** The backoff timer fired. */
  | { type: 'retryDue' }
  /** The connection stayed open for resetAfterMs: the retry count resets. */
  | { type: 'stable' }
  /** The user called close() (or the client's signal aborted), or destroy() with `reason`. */
  | { type: 'close'; reason?: Error }
  /** closeTimeoutMs passed while draining. */
  | { type: 'drainTimeout' }
  /** The user called destroy() while closing: tear down now. */
  | { type: 'destroy'; reason?: Error }
  /** Teardown finished: the socket handle is released. */
  | { type: 'closed' };

/** Per-state data of `closing`. */
export interface Closing {
  /** draining: acks awaited, then BYE; releasing: the socket is torn down, `closed` follows. */
  readonly stage: 'draining' | 'releasing';
  /** The error destroy() was given: the cause of the ERR_CLOSED rejections. */
  readonly reason?: Error | undefined;
}

interface Base {
  /** Consecutive retries scheduled since the last stable connection. */
  readonly retries: number;
}

export type Machine =
  | (Base & { readonly state: Exclude<ClientState, 'closing' | 'closed'> })
  | (Base & { readonly state: 'closing'; readonly closing: Closing })
  | (Base & { readonly state: 'closed'; readonly reason?: Error | undefined });

export interface RetryPolicy {
  /** False when reconnect is disabled: any loss ends in `failed`. */
  readonly enabled: boolean;
  /** Bound on consecutive retries (Infinity allowed). */
  readonly maxRetries: number;
}

export interface Transition {
  readonly from: ClientState;
  readonly machine: Machine;
  /** Set when a retry must be scheduled: its 0-based attempt number and whether it may go at once. */
  readonly retry?: { readonly attempt: number; readonly immediate: boolean };
  /** Set when the machine enters `failed`: why. */
  readonly giveUp?: 'fatal' | 'exhausted' | 'disabled' | 'declined';
}

/** A move the table does not allow: a programming error, never ignored. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly state: ClientState,
    readonly event: MachineEventType,
  ) {
    super(`illegal transition: event '${event}' in state '${state}'`);
    this.name = 'IllegalTransitionError';
  }
}

type Handler = (m: Machine, e: MachineEvent, p: RetryPolicy) => Omit<Transition, 'from'>;

type Plain = Exclude<ClientState, 'closing' | 'closed'>;

const to =
  (state: Plain, retries?: 'reset'): Handler =>
  (m) => ({ machine: { state, retries: retries === 'reset' ? 0 : m.retries } });

/** Into closing at `stage`, keeping an earlier destroy reason. */
const closing =
  (stage: Closing['stage']): Handler =>
  (m, e) => {
    return { machine: { state: 'closing', retries: m.retries, closing: { stage, reason: reasonOf(m, e) } } };
  };

const closed: Handler = (m, e) => ({ machine: { state: 'closed', retries: m.retries, reason: reasonOf(m, e) } });

/** The destroy reason: the event's, else the one closing already carries. */
function reasonOf(m: Machine, e: MachineEvent): Error | undefined {
  const given = e.type === 'close' || e.type === 'destroy' ? e.reason : undefined;
  return given ?? (m.state === 'closing' ? m.closing.reason : undefined);
}

/** A loss while connecting or open: retry, or give up. */
const onLost: Handler = (m, e, p) => {
  const kind = e.type === 'lost' ? e.kind : 'transient';
  if (kind === 'fatal') return { machine: { state: 'failed', retries: m.retries }, giveUp: 'fatal' };
  if (!p.enabled) return { machine: { state: 'failed', retries: m.retries }, giveUp: 'disabled' };
  if (m.retries >= p.maxRetries) return { machine: { state: 'failed', retries: m.retries }, giveUp: 'exhausted' };
  if (e.type === 'lost' && e.declined) return { machine: { state: 'failed', retries: m.retries }, giveUp: 'declined' };
  return {
    machine: { state: 'reconnecting', retries: m.retries + 1 },
    // A transient loss (reset, heartbeat timeout) of a link that was fine may
    // be retried at once, but only as the first retry: never a tight loop.
    retry: { attempt: m.retries, immediate: (kind === 'transient' || (e.type === 'lost' && e.retryAtOnce === true)) && m.retries === 0 },
  };
};

/**
 * The transition table: (state, event) -> handler. Absent pairs are illegal.
 * close() of an open connection drains; of an attempt or a retry wait it
 * releases at once. In closing, the link going down, the drain deadline and
 * destroy() all move to releasing; `closed` comes when the socket is released.
 */
export const TRANSITIONS: Readonly<Record<ClientState, Partial<Record<MachineEventType, Handler>>>> = {
  idle: { connect: to('connecting', 'reset'), close: closed },
  connecting: { established: to('open'), lost: onLost, close: closing('releasing') },
  open: { lost: onLost, stable: to('open', 'reset'), close: closing('draining') },
  reconnecting: { retryDue: to('connecting'), close: closing('releasing') },
  closing: { lost: closing('releasing'), drainTimeout: closing('releasing'), destroy: closing('releasing'), closed },
  closed: {},
  failed: { connect: to('connecting', 'reset'), close: closed },
};

/** True when the table has an entry for (state, event). */
export function canTransition(state: ClientState, event: MachineEventType): boolean {
  return TRANSITIONS[state][event] !== undefined;
}

/** Applies an event; throws IllegalTransitionError when the table has no entry. */
export function transition(m: Machine, e: MachineEvent, policy: RetryPolicy): Transition {
  const handler = TRANSITIONS[m.state][e.type];
  if (!handler) throw new IllegalTransitionError(m.state, e.type);
  return { from: m.state, ...handler(m, e, policy) };
}

/** A machine in `state` with no history (closing: draining), for tests and tools. */
export function machineIn(state: ClientState, retries = 0): Machine {
  if (state === 'closing') return { state, retries, closing: { stage: 'draining' } };
  return { state, retries };
}

export const INITIAL_MACHINE: Machine = Object.freeze({ state: 'idle', retries: 0 });
