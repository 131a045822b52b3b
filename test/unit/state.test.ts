import fc from 'fast-check';
import {
  EVENT_TYPES,
  IllegalTransitionError,
  INITIAL_MACHINE,
  Machine,
  MachineEvent,
  MachineEventType,
  RetryPolicy,
  STATES,
  TRANSITIONS,
  canTransition,
  machineIn,
  nextRetry,
  transition,
} from '../../src/core/state';
import type { ErrorKind } from '../../src/core/errors';

const policy: RetryPolicy = { enabled: true, maxRetries: 3 };

function eventOf(type: MachineEventType, kind: ErrorKind = 'transient'): MachineEvent {
  return type === 'lost' ? { type, kind } : ({ type } as MachineEvent);
}

/** The expected table, written out independently of the implementation. */
const EXPECTED: Record<string, string> = {
  'idle/connect': 'connecting',
  'idle/close': 'closed',
  'connecting/established': 'open',
  'connecting/lost': 'reconnecting',
  'connecting/close': 'closing',
  'open/lost': 'reconnecting',
  'open/stable': 'open',
  'open/close': 'closing',
  'reconnecting/retryDue': 'connecting',
  'reconnecting/close': 'closing',
  'closing/lost': 'closing',
  'closing/drainTimeout': 'closing',
  'closing/destroy': 'closing',
  'closing/closed': 'closed',
  'failed/connect': 'connecting',
  'failed/close': 'closed',
};

describe('state machine table', () => {
  for (const state of STATES) {
    for (const type of EVENT_TYPES) {
      const key = `${state}/${type}`;
      const expected = EXPECTED[key];
      it(`${key} -> ${expected ?? 'illegal'}`, () => {
        const m: Machine = machineIn(state);
        if (expected === undefined) {
          expect(canTransition(state, type)).toBe(false);
          expect(() => transition(m, eventOf(type), policy)).toThrow(IllegalTransitionError);
        } else {
          expect(canTransition(state, type)).toBe(true);
          expect(transition(m, eventOf(type), policy).machine.state).toBe(expected);
        }
      });
    }
  }

  it('a data-less state at 0 retries is one frozen machine for every client; with retries it is a machine of its own', () => {
    const open = (from: Machine): Machine => transition(transition(from, { type: 'connect' }, policy).machine, { type: 'established' }, policy).machine;
    const a = open(INITIAL_MACHINE);
    expect(a).toEqual({ state: 'open', retries: 0 });
    expect(open(machineIn('failed'))).toBe(a);
    expect(machineIn('open')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    const later = transition(machineIn('reconnecting', 2), { type: 'retryDue' }, policy).machine;
    expect(later).toEqual({ state: 'connecting', retries: 2 });
    expect(transition(later, { type: 'established' }, policy).machine).not.toBe(transition(later, { type: 'established' }, policy).machine);
  });

  it('has no entry beyond the expected ones', () => {
    const actual = STATES.flatMap((s) => Object.keys(TRANSITIONS[s]).map((e) => `${s}/${e}`)).sort();
    expect(actual).toEqual(Object.keys(EXPECTED).sort());
  });

  it('a fatal loss fails at once, whatever the retries left', () => {
    const t = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'fatal' }, policy);
    expect(t.machine).toEqual({ state: 'failed', retries: 0, giveUp: { why: 'fatal' } });
  });

  it('reconnect disabled: a loss fails', () => {
    const t = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'transient' }, { enabled: false, maxRetries: 9 });
    expect(t.machine).toMatchObject({ state: 'failed', giveUp: { why: 'disabled' } });
  });

  it('reconnecting carries its retry: only the first after a transient loss is immediate; the attempt is the retry count', () => {
    const first = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'transient' }, policy);
    expect(first.machine).toEqual({ state: 'reconnecting', retries: 1, retry: { immediate: true } });
    const second = transition({ state: 'connecting', retries: 1 }, { type: 'lost', kind: 'transient' }, policy);
    expect(second.machine).toEqual({ state: 'reconnecting', retries: 2, retry: { immediate: false } });
    const refused = transition({ state: 'connecting', retries: 0 }, { type: 'lost', kind: 'unavailable' }, policy);
    expect(refused.machine).toEqual({ state: 'reconnecting', retries: 1, retry: { immediate: false } });
  });

  it("the hook's delay enters reconnecting as data, the immediate rule kept beside it", () => {
    const t = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'transient', hook: { delayMs: 70 } }, policy);
    expect(t.machine).toEqual({ state: 'reconnecting', retries: 1, retry: { immediate: true, delayMs: 70 } });
  });

  it("the hook's refusal: failed (declined) with its cause; maxRetries is checked first; fatal still wins", () => {
    const m: Machine = { state: 'connecting', retries: 1 };
    const cause = new TypeError('reconnect.delay returned -1');
    const declined = transition(m, { type: 'lost', kind: 'unavailable', hook: { giveUp: true, cause } }, policy);
    expect(declined.machine).toEqual({ state: 'failed', retries: 1, giveUp: { why: 'declined', cause } });
    const noCause = transition(m, { type: 'lost', kind: 'unavailable', hook: { giveUp: true } }, policy);
    expect(noCause.machine).toEqual({ state: 'failed', retries: 1, giveUp: { why: 'declined', cause: undefined } });
    const atMax = transition({ state: 'open', retries: 3 }, { type: 'lost', kind: 'transient', hook: { giveUp: true } }, policy);
    expect(atMax.machine).toMatchObject({ giveUp: { why: 'exhausted' } });
    expect(transition(m, { type: 'lost', kind: 'fatal', hook: { giveUp: true } }, policy).machine).toMatchObject({ giveUp: { why: 'fatal' } });
  });

  it('nextRetry: the 1-based attempt a loss would schedule (what the hook is asked about), undefined when it gives up or cannot retry', () => {
    const lost = { type: 'lost', kind: 'unavailable' } as const;
    expect(nextRetry({ state: 'open', retries: 0 }, lost, policy)).toBe(1);
    expect(nextRetry({ state: 'connecting', retries: 2 }, lost, policy)).toBe(3);
    expect(nextRetry({ state: 'connecting', retries: 3 }, lost, policy)).toBeUndefined();
    expect(nextRetry({ state: 'open', retries: 0 }, { type: 'lost', kind: 'fatal' }, policy)).toBeUndefined();
    expect(nextRetry({ state: 'open', retries: 0 }, lost, { enabled: false, maxRetries: 9 })).toBeUndefined();
    for (const state of STATES.filter((s) => s !== 'open' && s !== 'connecting')) expect(nextRetry(machineIn(state), lost, policy)).toBeUndefined();
  });

  it('a loss whose code retries at once (ERR_NETWORK_CHANGED) gets an immediate first retry whatever its kind, and only the first', () => {
    const first = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'network', retryAtOnce: true }, policy);
    expect(first.machine).toMatchObject({ retry: { immediate: true } });
    const second = transition({ state: 'connecting', retries: 1 }, { type: 'lost', kind: 'network', retryAtOnce: true }, policy);
    expect(second.machine).toMatchObject({ retry: { immediate: false } });
    const other = transition({ state: 'open', retries: 0 }, { type: 'lost', kind: 'network' }, policy);
    expect(other.machine).toMatchObject({ retry: { immediate: false } });
  });

  it('maxRetries: 3 gives exactly 3 retries, then exhausted', () => {
    let m: Machine = transition(INITIAL_MACHINE, { type: 'connect' }, policy).machine;
    let retries = 0;
    for (;;) {
      const t = transition(m, { type: 'lost', kind: 'unavailable' }, policy);
      if (t.machine.state === 'failed') {
        expect(t.machine.giveUp).toEqual({ why: 'exhausted' });
        break;
      }
      retries++;
      m = transition(t.machine, { type: 'retryDue' }, policy).machine;
    }
    expect(retries).toBe(3);
  });

  it('stable resets the retry count; established does not', () => {
    const open = transition({ state: 'connecting', retries: 2 }, { type: 'established' }, policy).machine;
    expect(open.retries).toBe(2);
    expect(transition(open, { type: 'stable' }, policy).machine.retries).toBe(0);
  });
});

const kindArb = fc.constantFrom<ErrorKind>('transient', 'unavailable', 'network', 'fatal');
const eventArb = fc.oneof(
  fc.constantFrom(...EVENT_TYPES.filter((t) => t !== 'lost')).map((type) => ({ type }) as MachineEvent),
  kindArb.map((kind) => ({ type: 'lost', kind }) as MachineEvent),
);

describe('state machine properties', () => {
  it('any event sequence leaves a legal state; illegal events throw and change nothing', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 200 }), fc.integer({ min: 0, max: 10 }), (events, maxRetries) => {
        let m: Machine = INITIAL_MACHINE;
        for (const e of events) {
          if (canTransition(m.state, e.type)) {
            const t = transition(m, e, { enabled: true, maxRetries });
            m = t.machine;
            expect(m.retries).toBeLessThanOrEqual(maxRetries);
            // Per-state data exists in its state only, and a retry's attempt is never past maxRetries.
            expect('retry' in m).toBe(m.state === 'reconnecting');
            expect('giveUp' in m).toBe(m.state === 'failed');
            expect('closing' in m).toBe(m.state === 'closing');
            if (m.state === 'reconnecting') expect(m.retries).toBeGreaterThanOrEqual(1);
          } else {
            expect(() => transition(m, e, { enabled: true, maxRetries })).toThrow(IllegalTransitionError);
          }
          expect(STATES).toContain(m.state);
        }
      }),
    );
  });

  it('with bounded retries, failures without a stable connection always end in failed or open', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.oneof(fc.constant<'fail'>('fail'), fc.constant<'open'>('open')), { maxLength: 100 }),
        (maxRetries, script) => {
          // Drive the machine as the client does: every attempt either fails or opens;
          // an open link is lost again later. Without 'stable', retries only grow.
          let m: Machine = transition(INITIAL_MACHINE, { type: 'connect' }, { enabled: true, maxRetries }).machine;
          const p = { enabled: true, maxRetries };
          let steps = 0;
          for (let i = 0; ; i++) {
            steps++;
            const outcome = script[i] ?? 'fail';
            if (m.state === 'connecting' && outcome === 'open') m = transition(m, { type: 'established' }, p).machine;
            const t = transition(m, { type: 'lost', kind: 'unavailable' }, p);
            m = t.machine;
            if (m.state === 'failed') break;
            m = transition(m, { type: 'retryDue' }, p).machine;
            expect(steps).toBeLessThanOrEqual(maxRetries + 1);
          }
          expect(m.state).toBe('failed');
          expect(steps).toBe(maxRetries + 1);
        },
      ),
    );
  });
});

describe('closing is a state with data', () => {
  const p: RetryPolicy = { enabled: true, maxRetries: Infinity };

  it('close() of an open connection drains; of an attempt or a retry wait it releases at once', () => {
    const drained = transition(machineIn('open'), { type: 'close' }, p).machine;
    expect(drained).toEqual({ state: 'closing', retries: 0, closing: { stage: 'draining', reason: undefined } });
    for (const from of ['connecting', 'reconnecting'] as const) {
      expect(transition(machineIn(from), { type: 'close' }, p).machine).toMatchObject({ state: 'closing', closing: { stage: 'releasing' } });
    }
  });

  it("destroy()'s reason is carried through releasing into closed, and a later destroy without one keeps it", () => {
    const reason = new Error('shutdown');
    let m = transition(machineIn('closing'), { type: 'destroy', reason }, p).machine;
    expect(m).toMatchObject({ state: 'closing', closing: { stage: 'releasing', reason } });
    m = transition(m, { type: 'destroy' }, p).machine;
    m = transition(m, { type: 'closed' }, p).machine;
    expect(m).toEqual({ state: 'closed', retries: 0, reason });
  });
});
