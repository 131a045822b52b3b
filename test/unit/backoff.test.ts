import fc from 'fast-check';
import { BackoffOptions, Jitter, MAX_TIMER_MS, askRetryDelay, backoffDelay, baseDelay } from '../../src/core/backoff';

const jitters: Jitter[] = ['full', 'equal', 'decorrelated', 'none'];

describe('backoff', () => {
  const opts: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 5000, multiplier: 2, jitter: 'none' };

  it('grows as initialDelay * multiplier^n and caps at maxDelay', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => baseDelay(opts, n))).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    expect(baseDelay(opts, 10_000)).toBe(5000);
  });

  it('none: exactly the base delay', () => {
    expect(backoffDelay(opts, 3, 0, () => 0.7)).toBe(800);
  });

  it('full: uniform in [0, base]', () => {
    const o = { ...opts, jitter: 'full' as const };
    expect(backoffDelay(o, 3, 0, () => 0)).toBe(0);
    expect(backoffDelay(o, 3, 0, () => 0.5)).toBe(400);
    expect(backoffDelay(o, 3, 0, () => 0.999999)).toBe(800);
  });

  it('equal: in [base/2, base]', () => {
    const o = { ...opts, jitter: 'equal' as const };
    expect(backoffDelay(o, 3, 0, () => 0)).toBe(400);
    expect(backoffDelay(o, 3, 0, () => 0.999999)).toBe(800);
  });

  it('decorrelated: in [initial, 3 * previous], capped', () => {
    const o = { ...opts, jitter: 'decorrelated' as const };
    expect(backoffDelay(o, 0, 0, () => 0)).toBe(100);
    expect(backoffDelay(o, 5, 1000, () => 0.999999)).toBe(3000);
    expect(backoffDelay(o, 5, 4000, () => 0.999999)).toBe(5000);
  });

  it('property: every delay is within [0, maxDelayMs] and under its base for full/equal/none', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.constantFrom(...jitters),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (initial, extra, multiplier, jitter, attempt, prev, r) => {
          const o: BackoffOptions = { initialDelayMs: initial, maxDelayMs: initial + extra, multiplier, jitter };
          const d = backoffDelay(o, attempt, prev, () => r);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(o.maxDelayMs);
          if (jitter !== 'decorrelated') expect(d).toBeLessThanOrEqual(Math.round(baseDelay(o, attempt)));
          if (jitter === 'equal') expect(d).toBeGreaterThanOrEqual(Math.floor(baseDelay(o, attempt) / 2));
        },
      ),
    );
  });

  it('property: the base is non-decreasing in the attempt number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 1, max: 4, noNaN: true }), fc.integer({ min: 0, max: 60 }), (initial, m, n) => {
        const o: BackoffOptions = { initialDelayMs: initial, maxDelayMs: initial * 50, multiplier: m, jitter: 'none' };
        expect(baseDelay(o, n + 1)).toBeGreaterThanOrEqual(baseDelay(o, n));
      }),
    );
  });
});

describe('askRetryDelay (the reconnect.delay hook)', () => {
  const err = new Error('x');
  it('a number in [0, MAX_TIMER_MS] is the delay (rounded); false gives up with no cause', () => {
    expect(askRetryDelay(() => 12.4, 1, err)).toEqual({ delayMs: 12 });
    expect(askRetryDelay(() => MAX_TIMER_MS, 1, err)).toEqual({ delayMs: MAX_TIMER_MS });
    expect(askRetryDelay(() => false, 1, err)).toEqual({ giveUp: true });
  });
  it('NaN, negative, too long, a string or a throw gives up with the cause', () => {
    for (const v of [NaN, -1, Infinity, MAX_TIMER_MS + 1, '10']) {
      const d = askRetryDelay(() => v as number, 2, err);
      expect(d).toMatchObject({ giveUp: true, cause: expect.any(TypeError) });
    }
    const boom = new Error('boom');
    expect(askRetryDelay(() => { throw boom; }, 1, err)).toEqual({ giveUp: true, cause: boom });
  });
  it('passes the 1-based attempt and the error', () => {
    const seen: unknown[] = [];
    askRetryDelay((a, e) => (seen.push(a, e), 0), 3, err);
    expect(seen).toEqual([3, err]);
  });
});
