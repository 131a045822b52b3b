/**
 * reconnect.delay: the user's retry policy replaces the built-in backoff,
 * against a real refused port.
 */
import { ResilientClient, ResilientError } from '../../src';
import { waitFor } from '../support/events';
import { freePort, useCleanup } from '../support/lifecycle';

describe('reconnect.delay', () => {
  const cleanup = useCleanup();

  it('a refused port, 10 ms then false on attempt 3: failed after 3 connection attempts with ERR_RETRIES_EXHAUSTED', async () => {
    const port = await freePort();
    const calls: Array<[number, string]> = [];
    const delay = (attempt: number, error: Error): number | false => {
      calls.push([attempt, (error as ResilientError).code]);
      return attempt >= 3 ? false : 10;
    };
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { delay } });
    cleanup.push(() => client.close());
    const delays: number[] = [];
    client.on('reconnecting', (e) => delays.push(e.delayMs));
    client.on('error', () => {});
    const gaveUp = waitFor<[ResilientError]>(client, 'giveUp');
    await expect(client.connect()).rejects.toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED' });
    const [err] = await gaveUp;
    expect(err.message).toMatch(/reconnect\.delay gave up after 2 retries: ECONNREFUSED/);
    expect((err.cause as ResilientError).code).toBe('ECONNREFUSED');
    expect(calls).toEqual([
      [1, 'ECONNREFUSED'],
      [2, 'ECONNREFUSED'],
      [3, 'ECONNREFUSED'],
    ]);
    expect(delays).toEqual([10, 10]); // the hook's delays, not the backoff's
    expect(client.state).toBe('failed');
  });

  it('a hook returning a negative delay gives up with a TypeError naming reconnect.delay as the cause', async () => {
    const port = await freePort();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { delay: () => -1 } });
    cleanup.push(() => client.close());
    client.on('error', () => {});
    const err = (await client.connect().catch((e: unknown) => e)) as ResilientError;
    expect(err).toMatchObject({ code: 'ERR_RETRIES_EXHAUSTED' });
    expect(err.cause).toBeInstanceOf(TypeError);
    expect((err.cause as Error).message).toMatch(/^reconnect\.delay returned -1/);
  });

  it('reconnect.delay that is not a function: TypeError naming it', () => {
    expect(() => new ResilientClient({ port: 1, reconnect: { delay: 10 as never } })).toThrow(/reconnect\.delay/);
    expect(() => new ResilientClient({ port: 1, reconnect: { delay: 10 as never } })).toThrow(TypeError);
  });
});
