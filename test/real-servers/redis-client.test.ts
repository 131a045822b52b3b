/**
 * The Redis example (examples/redis/redis-client.ts) on ResilientClient
 * against a real redis-server with requirepass: the handshake logs in and
 * selects db 5 on every connection, before anything queued is written.
 */
import { redisClient, type RedisClientOptions } from '../../examples/redis/redis-client';
import { respCodec, type RespValue } from '../../examples/redis/resp-codec';
import type { ResilientClient } from '../../src/index';
import { CodecSocket } from '../support/codec-socket';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { FAST_RECOVERY } from '../support/real-server-client';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

const PASSWORD = 'correct horse';
const DB = 5;

describeRealServers('Redis example client against a real redis-server', ['redis'], () => {
  const servers = useRealServers();
  const cleanup = useCleanup();
  let redis: RealServer;
  beforeAll(async () => {
    redis = await servers.redis({ password: PASSWORD });
  });

  function client(options: Partial<RedisClientOptions> = {}): ResilientClient<RespValue> {
    const c = redisClient({ host: '127.0.0.1', port: redis.port, password: PASSWORD, db: DB, ...FAST_RECOVERY, ...options });
    c.on('error', () => undefined);
    cleanup.push(() => c.close());
    return c;
  }

  /** GET `key` in `db` on a fresh plain connection. */
  async function read(db: number, key: string): Promise<RespValue> {
    const s = await CodecSocket.connect(redis.port, respCodec());
    try {
      s.send(['AUTH', PASSWORD], ['SELECT', db], ['GET', key]);
      await s.next();
      await s.next();
      return await s.next();
    } finally {
      await s.destroy();
    }
  }

  test('a SET queued while redis restarts is written after AUTH and SELECT: it lands in db 5', async () => {
    const c = client();
    await c.connect();
    const lost = waitFor(c, 'close');
    await redis.stop();
    await lost;
    const replies = record<[RespValue]>(c, 'message');
    const sent = c.send(['SET', 'queued-during-restart', 'db5']);
    await redis.start();
    await sent;
    await waitUntil(c, ['message'], () => replies.length > 0);
    expect(replies.map(([r]) => r)).toEqual(['OK']); // the handshake's own replies are never emitted
    expect(await read(DB, 'queued-during-restart')).toBe('db5');
    expect(await read(0, 'queued-during-restart')).toBeNull();
  });

  test('a wrong password ends in failed with ERR_AUTH, with no retry', async () => {
    const c = client({ password: 'wrong password' });
    const reconnecting = record(c, 'reconnecting');
    const opens = record(c, 'open');
    await expect(c.connect()).rejects.toMatchObject({ code: 'ERR_AUTH', kind: 'fatal' });
    expect(c.state).toBe('failed');
    expect([reconnecting, opens]).toEqual([[], []]);
  });

  test('a frozen redis: ERR_HEARTBEAT_TIMEOUT, then attempts that never open until it is thawed', async () => {
    const c = client();
    await c.connect();
    const closes = record<[{ error?: { code: string } }]>(c, 'close');
    const opens = record(c, 'open');
    const retries = record<[{ attempt: number; error: { code: string } }]>(c, 'reconnecting');
    redis.freeze();
    // TCP still connects (the kernel's backlog) but AUTH is never answered: no attempt may count as open.
    await waitUntil(c, ['reconnecting'], () => retries.length >= 3);
    expect(closes[0]?.[0].error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(opens).toEqual([]);
    expect(retries.map(([r]) => r.attempt)).toEqual([1, 2, 3]);
    redis.thaw();
    await waitFor(c, 'open');
    expect(opens).toHaveLength(1);
  });

  test("confirmed delivery: a SET written to a frozen redis stays pending, survives its kill, and is applied after the restart", async () => {
    const c = client({ delivery: 'confirmed' });
    await c.connect();
    redis.freeze();
    let resolved = false;
    const sent = c.send(['SET', 'confirmed-key', 'applied']).then(() => (resolved = true));
    const [lost] = await waitFor<[{ error?: { code: string } }]>(c, 'close');
    expect(lost.error?.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(resolved).toBe(false); // written to the kernel, never read by redis
    expect(c.pending()).toHaveLength(1);
    redis.killSync(); // SIGKILL while stopped: the SET in its socket buffer is never read
    await redis.stop();
    await redis.start();
    await sent;
    expect(await read(DB, 'confirmed-key')).toBe('applied');
    expect(c.pending()).toEqual([]);
  });
});
