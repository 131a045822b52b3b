/**
 * The harness and the RESP codec (examples/redis/resp-codec.ts) against a real
 * redis-server: plain sockets, no ResilientClient.
 */
import { RespError, respCodec, type RespValue } from '../../examples/redis/resp-codec';
import { CodecSocket, useCodecSockets } from '../support/codec-socket';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

/** How long a frozen server is watched for an answer: the definition of the fault, not a settle time. */
const FROZEN_MS = 300;
const PASSWORD = 'correct horse';

/** The text of an error reply; fails the test on any other reply. */
function errorText(v: RespValue): string {
  if (!(v instanceof RespError)) throw new Error(`expected an error reply, got ${JSON.stringify(v)}`);
  return v.message;
}

/** Sends one command and returns its reply (RESP answers in order, one reply per command). */
async function call(s: CodecSocket<RespValue>, ...command: Array<string | number>): Promise<RespValue> {
  s.send(command);
  return s.next();
}

describeRealServers('redis-server through the RESP codec', ['redis'], () => {
  const servers = useRealServers();
  const sockets = useCodecSockets();
  let open: RealServer;
  let locked: RealServer;
  beforeAll(async () => {
    [open, locked] = await Promise.all([servers.redis(), servers.redis({ password: PASSWORD })]);
  });

  test('PING, SET and GET round-trip; replies of every type decode', async () => {
    const s = await sockets.open(open.port, respCodec());
    expect(await call(s, 'PING')).toBe('PONG');
    expect(await call(s, 'SET', 'greeting', 'héllo wörld')).toBe('OK');
    expect(await call(s, 'GET', 'greeting')).toBe('héllo wörld');
    expect(await call(s, 'GET', 'no-such-key')).toBeNull();
    expect(await call(s, 'INCRBY', 'counter', 41)).toBe(41);
    expect(await call(s, 'RPUSH', 'list', 'a', 'b', '')).toBe(3);
    expect(await call(s, 'LRANGE', 'list', 0, -1)).toEqual(['a', 'b', '']);
    expect(await call(s, 'NOSUCHCOMMAND')).toEqual(expect.any(RespError));
    expect(await call(s, 'EVAL', "return {1, {'x', {2}}, redis.error_reply('boom')}", 0)).toEqual([1, ['x', [2]], expect.any(RespError)]);
  });

  test('with requirepass: a command before AUTH gets -NOAUTH, a wrong password -WRONGPASS', async () => {
    const s = await sockets.open(locked.port, respCodec());
    expect(errorText(await call(s, 'SET', 'k', 'v'))).toMatch(/^NOAUTH /);
    expect(errorText(await call(s, 'AUTH', 'wrong password'))).toMatch(/^(WRONGPASS|ERR) /);
    expect(errorText(await call(s, 'GET', 'k'))).toMatch(/^NOAUTH /); // still not logged in
  });

  test('AUTH then SELECT 5: a SET lands in db 5, not db 0', async () => {
    const writer = await sockets.open(locked.port, respCodec());
    expect(await call(writer, 'AUTH', PASSWORD)).toBe('OK');
    expect(await call(writer, 'SELECT', 5)).toBe('OK');
    expect(await call(writer, 'SET', 'in-db-5', 'yes')).toBe('OK');

    const reader = await sockets.open(locked.port, respCodec());
    expect(await call(reader, 'AUTH', PASSWORD)).toBe('OK');
    expect(await call(reader, 'GET', 'in-db-5')).toBeNull(); // db 0
    expect(await call(reader, 'SELECT', 5)).toBe('OK');
    expect(await call(reader, 'GET', 'in-db-5')).toBe('yes');
  });

  test('restart on the same port: old connections close, new ones work, data is gone (no persistence)', async () => {
    const before = await sockets.open(open.port, respCodec());
    expect(await call(before, 'SET', 'survives', 'no')).toBe('OK');
    const oldPid = open.pid;
    const port = open.port;

    await open.stop();
    await before.closed;
    await expect(CodecSocket.connect(port, respCodec())).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await open.restart();
    expect(open.port).toBe(port);
    expect(open.pid).not.toBe(oldPid);
    const after = await sockets.open(open.port, respCodec());
    expect(await call(after, 'GET', 'survives')).toBeNull();
    expect(await call(after, 'PING')).toBe('PONG');
  });

  test('frozen (SIGSTOP): TCP connects but nothing is answered until it is thawed', async () => {
    open.freeze();
    const s = await sockets.open(open.port, respCodec()); // completes from the kernel's listen backlog
    s.send(['PING']);
    await new Promise((r) => setTimeout(r, FROZEN_MS));
    expect(s.received).toEqual([]);
    open.thaw();
    expect(await s.next()).toBe('PONG');
  });
});
