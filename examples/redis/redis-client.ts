/**
 * A small Redis client on ResilientClient and the RESP codec (resp-codec.ts):
 * on every connection it logs in (AUTH) and picks its database (SELECT)
 * before anything queued is written, so a command queued during an outage
 * lands in the right database; a wrong password ends in `failed` with
 * ERR_AUTH, with no retry. The heartbeat is `PING <token>`, which Redis
 * answers with the token as a bulk string (https://redis.io/commands/ping/):
 * the pong names its ping, and the app's own PING replies stay messages.
 *
 *   REDIS_PORT=6379 REDIS_PASSWORD=secret npx tsx examples/redis/redis-client.ts [port]
 */
import { randomBytes } from 'node:crypto';
import { ResilientError, ResilientClient, type HandshakeLink } from '../../src/index';
import type { ConnectionOptions } from '../shared/client-types';
import { RespError, respCodec, type RespValue } from './resp-codec';

export interface RedisClientOptions extends ConnectionOptions<RespValue> {
  /** AUTH on every connection (Redis `requirepass`). @default none */
  password?: string;
  /** SELECT on every connection. @default 0 */
  db?: number;
  /** Heartbeat interval and silence bound, in ms. @default { intervalMs: 1000, timeoutMs: 3000 } */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** 'confirmed': send() resolves once Redis has read the command (a later PING answered). @default 'written' */
  delivery?: 'written' | 'confirmed';
}

const DEFAULT_HEARTBEAT = { intervalMs: 1000, timeoutMs: 3000 };

/** Logs in and selects the database on one connection; a refused login is fatal. */
export async function redisHandshake(link: HandshakeLink<RespValue>, password: string | undefined, db: number): Promise<void> {
  if (password !== undefined) {
    link.send(['AUTH', password]);
    const reply = await link.receive();
    // WRONGPASS (Redis 6+) or ERR (no password configured): retrying cannot help.
    if (reply instanceof RespError) throw new ResilientError('ERR_AUTH', `redis AUTH refused: ${reply.message}`, 'fatal');
  }
  if (db !== 0) {
    link.send(['SELECT', db]);
    const reply = await link.receive();
    if (reply instanceof RespError) throw new ResilientError('ERR_PROTOCOL', `redis SELECT ${db} refused: ${reply.message}`, 'fatal');
  }
}

/** A RESP client whose connection is logged in and on database `db` before any command is written. */
export function redisClient(options: RedisClientOptions): ResilientClient<RespValue> {
  const { password, db = 0, heartbeat = DEFAULT_HEARTBEAT, delivery = 'written', ...connection } = options;
  // Our pings carry a random token, so a stored value never reads as a pong.
  const token = `rtcp-${randomBytes(6).toString('hex')}-`;
  return new ResilientClient<RespValue>({
    ...connection,
    codec: respCodec(),
    heartbeat: {
      ...heartbeat,
      createPing: (seq) => ['PING', `${token}${seq}`],
      isPong: (m) => (typeof m === 'string' && m.startsWith(token) ? Number(m.slice(token.length)) : false),
    },
    handshake: (link) => redisHandshake(link, password, db),
    delivery,
  });
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.REDIS_PORT ?? 6379);
  const redis = redisClient({ host: '127.0.0.1', port, password: process.env.REDIS_PASSWORD, db: 5, delivery: 'confirmed' });
  redis.on('stateChange', ({ from, to, reason }) => console.log(`-- ${from} -> ${to}${reason ? ` (${reason.code})` : ''}`));
  redis.on('message', (reply) => console.log('reply:', reply));
  const main = async (): Promise<void> => {
    await redis.connect();
    await redis.send(['SET', 'greeting', 'hello from resilient-tcp']); // resolved: Redis has read it
    await redis.send(['GET', 'greeting']);
    console.log('confirmed; stop and start redis-server to watch it reconnect, log in and SELECT again (Ctrl-C to quit)');
  };
  process.on('SIGINT', () => void redis.close());
  main().catch(async (err: { code?: string; message?: string }) => {
    console.log(`-- ${err.code}: ${err.message}`);
    await redis.close();
  });
}
