/**
 * The reconnect state machine: a pure transition function over a table.
 * No I/O and no timers; the client turns socket events and timer ticks into
 * `MachineEvent`s and carries out the returned effects.
 *
 *   idle -> connecting -> open -> (reconnecting -> connecting)* -> closing -> closed
 *   any active state -> failed (fatal error, retries exhausted, reconnect disabled)
 */
import type { ErrorKind } from './errors';

export const STATES = ['idle', 'connecting', 'open', 'reconnecting', 'closing', 'closed', 'failed'] as const;
export type ClientState = (typeof STATES)[number];

export const EVENT_TYPES = ['connect', 'established', 'lost', 'retryDue', 'stable', 'close', 'closed'] as const;
export type MachineEventType = (typeof EVENT_TYPES)[number];

export type MachineEvent =
  /** The user called connect(). */
  | { type: 'connect' }
  /** The handshake finished: the connection is usable. */
  | { type: 'established' }
  /** A connection attempt failed, or an open connection was lost. */
  | { type: 'lost'; kind: ErrorKind }
  /** The backoff timer fired. */
  | { type: 'retryDue' }
  /** The connection stayed open for resetAfterMs: the retry count resets. */
  | { type: 'stable' }
  /** The user called close(). */
  | { type: 'close' }
  /** Teardown finished. */
  | { type: 'closed' };

export interface Machine {
  readonly state: ClientState;
  /** Consecutive retries scheduled since the last stable connection. */
  readonly retries: number;
}

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
  readonly giveUp?: 'fatal' | 'exhausted' | 'disabled';
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

const to =
  (state: ClientState, retries?: 'reset'): Handler =>
  (m) => ({ machine: { state, retries: retries === 'reset' ? 0 : m.retries } });

/** A loss while connecting or open: retry, or give up. */
const onLost: Handler = (m, e, p) => {
  const kind = e.type === 'lost' ? e.kind : 'transient';
  if (kind === 'fatal') return { machine: { state: 'failed', retries: m.retries }, giveUp: 'fatal' };
  if (!p.enabled) return { machine: { state: 'failed', retries: m.retries }, giveUp: 'disabled' };
  if (m.retries >= p.maxRetries) return { machine: { state: 'failed', retries: m.retries }, giveUp: 'exhausted' };
  return {
    machine: { state: 'reconnecting', retries: m.retries + 1 },
    // A transient loss (reset, heartbeat timeout) of a link that was fine may
    // be retried at once, but only as the first retry: never a tight loop.
    retry: { attempt: m.retries, immediate: kind === 'transient' && m.retries === 0 },
  };
};

/** The transition table: (state, event) -> handler. Absent pairs are illegal. */
export const TRANSITIONS: Readonly<Record<ClientState, Partial<Record<MachineEventType, Handler>>>> = {
  idle: { connect: to('connecting', 'reset'), close: to('closed') },
  connecting: { established: to('open'), lost: onLost, close: to('closing') },
  open: { lost: onLost, stable: to('open', 'reset'), close: to('closing') },
  reconnecting: { retryDue: to('connecting'), close: to('closing') },
  closing: { closed: to('closed') },
  closed: {},
  failed: { connect: to('connecting', 'reset'), close: to('closed') },
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

export const INITIAL_MACHINE: Machine = Object.freeze({ state: 'idle', retries: 0 });
