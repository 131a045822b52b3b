/**
 * The retry policy as the lifecycle applies it (src/client/retry.ts): pure
 * functions of the resolved options and the two numbers the lifecycle keeps
 * (its open time, the last delay waited), so a client holds no retry object.
 */
import { backoffDelay } from '../../src/core/backoff';
import { sdkError } from '../../src/core/errors';
import type { MachineIn } from '../../src/core/state';
import { resolveOptions } from '../../src/client/options';
import { NEVER_OPENED, giveUpError, isStable, lostEvent, openedNow, retryDelay } from '../../src/client/retry';

const reconnecting = (retries: number, retry: MachineIn<'reconnecting'>['retry']): MachineIn<'reconnecting'> => ({ state: 'reconnecting', retries, retry });

describe('retry policy (client/retry.ts)', () => {
  it('a retry waits the hook’s delay, 0 when immediate, else the backoff’s grown from the last delay waited', () => {
    const opts = resolveOptions({ port: 1, reconnect: { jitter: 'decorrelated', initialDelayMs: 100, maxDelayMs: 10_000 }, random: () => 0.5 });
    expect(retryDelay(opts, reconnecting(1, { immediate: false, delayMs: 1234 }), 900)).toBe(1234);
    expect(retryDelay(opts, reconnecting(1, { immediate: true }), 900)).toBe(0);
    // Decorrelated jitter: uniform in [initial, last × 3], so the last delay moves it.
    const fromZero = retryDelay(opts, reconnecting(3, { immediate: false }), 0);
    const fromLast = retryDelay(opts, reconnecting(3, { immediate: false }), 900);
    expect(fromLast).toBe(backoffDelay(opts.reconnect, 2, 900, () => 0.5));
    expect(fromZero).toBe(backoffDelay(opts.reconnect, 2, 0, () => 0.5));
    expect(fromLast).toBeGreaterThan(fromZero);
  });

  it('a connection is stable once open resetAfterMs, never before its first open', () => {
    const quick = resolveOptions({ port: 1, reconnect: { resetAfterMs: 0 } });
    const slow = resolveOptions({ port: 1, reconnect: { resetAfterMs: 3_600_000 } });
    expect(isStable(quick, NEVER_OPENED)).toBe(false);
    const now = openedNow();
    expect(Number.isInteger(now)).toBe(true);
    expect(isStable(quick, now)).toBe(true);
    expect(isStable(slow, now)).toBe(false);
  });

  it('the lost event asks the reconnect.delay hook only when a retry would follow', () => {
    const asked: number[] = [];
    const opts = resolveOptions({ port: 1, reconnect: { maxRetries: 1, delay: (attempt) => (asked.push(attempt), 42) } });
    const err = sdkError('ERR_CONNECTION_LOST', 'lost');
    expect(lostEvent(opts, { state: 'open', retries: 0 }, err)).toMatchObject({ type: 'lost', kind: err.kind, hook: { delayMs: 42 } });
    expect(asked).toEqual([1]);
    // The one retry allowed is spent: the table gives up, the hook is not asked.
    expect(lostEvent(opts, { state: 'connecting', retries: 1 }, err)).not.toHaveProperty('hook');
    expect(asked).toEqual([1]);
    expect(lostEvent(resolveOptions({ port: 1 }), { state: 'open', retries: 0 }, err)).not.toHaveProperty('hook');
  });

  it('giveUp carries ERR_RETRIES_EXHAUSTED with the last error as cause, or the fatal error itself', () => {
    const last = sdkError('ERR_CONNECTION_LOST', 'lost');
    const exhausted = giveUpError({ state: 'failed', retries: 3, giveUp: { why: 'exhausted' } }, last);
    expect(exhausted.code).toBe('ERR_RETRIES_EXHAUSTED');
    expect(exhausted.cause).toBe(last);
    expect(exhausted.message).toContain('after 3 retries');
    const fatal = sdkError('ERR_AUTH', 'no');
    expect(giveUpError({ state: 'failed', retries: 0, giveUp: { why: 'fatal' } }, fatal)).toBe(fatal);
  });
});
