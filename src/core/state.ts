/**
 * The reconnect state machine: a pure transition function over a table.
 * No I/O and no timers; the client turns socket events and timer ticks into
 * `MachineEvent`s and carries out the returned effects.
 *
 *   idle -> connecting -> open -> (reconnecting -> connecting)* -> closing -> closed
 *   any active state -> failed (fatal error, retries exhausted, reconnect disabled, the retry hook declined)
 *
 * States carry their data, not fields beside the machine: `reconnecting` the
 * retry it waits for (immediate or not, the user's hook's delay), `failed`
 * why it gave up, `closing` its stage, `draining` (waiting for acks, then
 * BYE) or `releasing` (the socket is being torn down, `closed` follows once
 * its handle is released), and the reason destroy() was given, if any. So
 * "close() while connecting" is a row of the table, and a retry cannot exist
 * outside `reconnecting`.
 */
import type { HookDecision } from './backoff';
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
  | LostEvent
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

/** A connection attempt failed, or an open connection was lost. */
export interface LostEvent {
  readonly type: 'lost';
  readonly kind: ErrorKind;
  /** The error's code asks for an immediate first retry (ERR_NETWORK_CHANGED). */
  readonly retryAtOnce?: boolean;
  /** The user's `reconnect.delay` hook's answer for the retry `nextRetry()` said this loss would schedule. */
  readonly hook?: HookDecision;
}

/** Per-state data of `reconnecting`: the retry it waits for. Its 1-based attempt is the machine's `retries`. */
export interface Retry {
  /** The first retry after a transient loss (or a code that retries at once) goes without backoff. */
  readonly immediate: boolean;
  /** The delay the user's hook chose, in ms; absent without a hook (the backoff's, or 0 when immediate). */
  readonly delayMs?: number;
}

/** Per-state data of `failed`: why the client gave up. */
export interface GiveUp {
  /** fatal: the error's kind; disabled: `reconnect: false`; exhausted: `maxRetries` reached; declined: the user's hook said no. */
  readonly why: 'fatal' | 'exhausted' | 'disabled' | 'declined';
  /** declined: what the hook threw, or the TypeError for an answer that is not a delay. */
  readonly cause?: Error | undefined;
}

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
  | (Base & { readonly state: Plain })
  | (Base & { readonly state: 'reconnecting'; readonly retry: Retry })
  | (Base & { readonly state: 'failed'; readonly giveUp: GiveUp })
  | (Base & { readonly state: 'closing'; readonly closing: Closing })
  | (Base & { readonly state: 'closed'; readonly reason?: Error | undefined });

/** The machine in state `S`, with that state's data. */
export type MachineIn<S extends ClientState> = Extract<Machine, { readonly state: S }>;

export interface RetryPolicy {
  /** False when reconnect is disabled: any loss ends in `failed`. */
  readonly enabled: boolean;
  /** Bound on consecutive retries (Infinity allowed). */
  readonly maxRetries: number;
}

export interface Transition {
  readonly from: ClientState;
  readonly machine: Machine;
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

type Handler = (m: Machine, e: MachineEvent, p: RetryPolicy) => Machine;

/** The states without data. */
type Plain = 'idle' | 'connecting' | 'open';

/**
 * The data-less machines with no retries, one frozen object per state for every client: an idle open client
 * holds the shared one, not a machine of its own (bench/heap-per-client.ts).
 */
const PLAIN_AT_ZERO: Readonly<Record<Plain, Machine>> = {
  idle: Object.freeze({ state: 'idle', retries: 0 }),
  connecting: Object.freeze({ state: 'connecting', retries: 0 }),
  open: Object.freeze({ state: 'open', retries: 0 }),
};

/** The machine in a data-less state: the shared one when `retries` is 0. */
function plain(state: Plain, retries: number): Machine {
  return retries === 0 ? PLAIN_AT_ZERO[state] : { state, retries };
}

const to =
  (state: Plain, retries?: 'reset'): Handler =>
  (m) => plain(state, retries === 'reset' ? 0 : m.retries);

/** Into closing at `stage`, keeping an earlier destroy reason. */
const closing =
  (stage: Closing['stage']): Handler =>
  (m, e) => ({ state: 'closing', retries: m.retries, closing: { stage, reason: reasonOf(m, e) } });

const closed: Handler = (m, e) => ({ state: 'closed', retries: m.retries, reason: reasonOf(m, e) });

/** The destroy reason: the event's, else the one closing already carries. */
function reasonOf(m: Machine, e: MachineEvent): Error | undefined {
  const given = e.type === 'close' || e.type === 'destroy' ? e.reason : undefined;
  return given ?? (m.state === 'closing' ? m.closing.reason : undefined);
}

/** What a loss decides before the user's hook is asked: a retry, or why not. */
function lossOutcome(m: Machine, e: LostEvent, p: RetryPolicy): Retry | Omit<GiveUp, 'cause'> {
  if (e.kind === 'fatal') return { why: 'fatal' };
  if (!p.enabled) return { why: 'disabled' };
  if (m.retries >= p.maxRetries) return { why: 'exhausted' };
  // A transient loss (reset, heartbeat timeout) of a link that was fine may
  // be retried at once, but only as the first retry: never a tight loop.
  return { immediate: (e.kind === 'transient' || e.retryAtOnce === true) && m.retries === 0 };
}

/**
 * The 1-based attempt of the retry a loss would schedule, or undefined when it
 * gives up: the attempt to ask the user's `reconnect.delay` hook about before
 * dispatching `lost` with its answer (so `maxRetries` is checked first).
 */
export function nextRetry(m: Machine, e: LostEvent, p: RetryPolicy): number | undefined {
  return TRANSITIONS[m.state].lost === onLost && 'immediate' in lossOutcome(m, e, p) ? m.retries + 1 : undefined;
}

/** A loss while connecting or open: retry, or give up (the hook's answer, if any, last). */
const onLost: Handler = (m, e, p) => {
  if (e.type !== 'lost') throw new IllegalTransitionError(m.state, e.type);
  const outcome = lossOutcome(m, e, p);
  if ('why' in outcome) return { state: 'failed', retries: m.retries, giveUp: outcome };
  const hook = e.hook;
  if (hook && 'giveUp' in hook) return { state: 'failed', retries: m.retries, giveUp: { why: 'declined', cause: hook.cause } };
  return { state: 'reconnecting', retries: m.retries + 1, retry: hook ? { immediate: outcome.immediate, delayMs: hook.delayMs } : outcome };
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
  return { from: m.state, machine: handler(m, e, policy) };
}

/** A machine in `state` with no history (reconnecting: a backoff retry; failed: fatal; closing: draining), for tests and tools. */
export function machineIn(state: ClientState, retries = 0): Machine {
  switch (state) {
    case 'reconnecting':
      return { state, retries, retry: { immediate: false } };
    case 'failed':
      return { state, retries, giveUp: { why: 'fatal' } };
    case 'closing':
      return { state, retries, closing: { stage: 'draining' } };
    case 'closed':
      return { state, retries };
    default:
      return plain(state, retries);
  }
}

export const INITIAL_MACHINE: Machine = PLAIN_AT_ZERO.idle;
