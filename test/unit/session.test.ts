/**
 * The server's Session (src/server/session.ts): what it keeps per session
 * without a field of its own (the default queue options, the ended flag),
 * and that the public behaviour is the same.
 */
import { QUEUE_DEFAULTS } from '../../src/core/delivery';
import { sdkError } from '../../src/core/errors';
import { tokenDigest } from '../../src/server/identity';
import { Session } from '../../src/server/session';

describe('Session', () => {
  it('a session of the default queue options keeps no field for them; one configured otherwise keeps its own and its window uses them', async () => {
    const plain = new Session('s1', 'c1', QUEUE_DEFAULTS, tokenDigest(undefined));
    expect(Object.hasOwn(plain, 'queue')).toBe(false);
    const one = new Session('s2', 'c2', { maxMessages: 1, maxBytes: Infinity, overflow: 'reject' }, tokenDigest(undefined));
    expect(Object.hasOwn(one, 'queue')).toBe(true);
    const first = one.send('a');
    await expect(one.send('b')).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
    one.end(sdkError('ERR_CLOSED', 'test over'));
    await expect(first).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('ending keeps createdAt, rejects what is pending and every later send, once', async () => {
    const before = Date.now();
    const s = new Session('s3', 'c3', QUEUE_DEFAULTS, tokenDigest('t'));
    const createdAt = s.createdAt;
    expect(createdAt).toBeGreaterThanOrEqual(before - 1);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    expect(s.isEnded).toBe(false);
    const pending = s.send('x');
    s.end(sdkError('ERR_CLOSED', 'first'));
    s.end(sdkError('ERR_CLOSED', 'second'));
    await expect(pending).rejects.toThrow('first');
    expect(s.isEnded).toBe(true);
    expect(s.createdAt).toBe(createdAt);
    await expect(s.send('y')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(Object.keys(s)).not.toContain('ended');
  });
});
