/**
 * The real-server harness itself (test/support/real-servers.ts): failures to
 * start are reported with the server's own log, stop() ends a frozen server
 * gracefully, and nothing it started outlives it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { respCodec } from '../../examples/redis/resp-codec';
import { CodecSocket, useCodecSockets } from '../support/codec-socket';
import { describeRealServers, findBinary, useRealServers } from '../support/real-servers';

describeRealServers('real-server harness', ['redis'], () => {
  const servers = useRealServers();
  const sockets = useCodecSockets();

  test('a server that cannot start rejects with its own log and leaves no temp dir behind', async () => {
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('rtcp-redis-server-')));
    await expect(servers.redis({ extraArgs: ['--no-such-directive', 'x'] })).rejects.toThrow(/exited before it was ready[\s\S]*no-such-directive/);
    const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('rtcp-redis-server-') && !before.has(f));
    expect(after).toEqual([]);
  });

  test('stop() thaws a frozen server first: it exits on SIGTERM, with no SIGKILL needed', async () => {
    const redis = await servers.redis();
    const pid = redis.pid as number;
    redis.freeze();
    await redis.stop();
    expect(redis.lastExit).toEqual({ code: 0, signal: null }); // redis-server's graceful shutdown on SIGTERM
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(CodecSocket.connect(redis.port, respCodec())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('restart() after stop() comes back on the same port with a new PID', async () => {
    const redis = await servers.redis();
    const { port, pid } = redis;
    await redis.stop();
    expect(redis.pid).toBeUndefined();
    await redis.restart();
    expect([redis.port, redis.running]).toEqual([port, true]);
    expect(redis.pid).not.toBe(pid);
    expect(redis.pids).toEqual([pid, redis.pid]);
    const s = await sockets.open(redis.port, respCodec());
    s.send(['PING']);
    expect(await s.next()).toBe('PONG');
    await s.destroy();
    await redis.dispose(); // now, not in afterAll: this test's leak check expects no process left
  });

  test('binaries are found on PATH or in the sbin directories', () => {
    expect(findBinary('redis-server')).toMatch(/\/redis-server$/);
    expect(findBinary('rtcp-no-such-binary')).toBeUndefined();
  });
});
