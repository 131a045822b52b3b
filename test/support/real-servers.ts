/**
 * Real servers for the suites in test/real-servers: redis-server, mosquitto and
 * ngircd (Debian packages of those names) as child processes on free ports,
 * each with its own config in a fresh temp dir (test/support/real-server-specs.ts),
 * never the system services or default ports.
 *
 *   describeRealServers('redis', ['redis'], () => {
 *     const servers = useRealServers();
 *     let redis: RealServer;
 *     beforeAll(async () => (redis = await servers.redis({ password: 'pw' })));
 *     test('…', async () => { … redis.port … await redis.restart(); redis.freeze(); … });
 *   });
 *
 * Every server started through useRealServers() is thawed after each test and
 * stopped by its PID (then its temp dir removed) in afterAll, whatever the
 * tests did; a process 'exit' hook SIGKILLs any still running as a last resort.
 * Outside CI a missing binary skips the suite with a printed reason; under
 * CI=true it fails the suite.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './lifecycle';
import { RealServer } from './real-server';
import { expectResourcesBackTo, resourceSnapshot } from './resources';
import {
  mosquittoSpec,
  ngircdSpec,
  redisSpec,
  type MosquittoOptions,
  type NgircdOptions,
  type RedisOptions,
  type ServerSpec,
} from './real-server-specs';

export { RealServer } from './real-server';
export type { MosquittoOptions, NgircdOptions, RedisOptions } from './real-server-specs';

export type ServerKind = 'redis' | 'mosquitto' | 'ngircd';

const SPECS: Record<ServerKind, () => ServerSpec> = { redis: redisSpec, mosquitto: mosquittoSpec, ngircd: ngircdSpec };
/** Debian installs mosquitto and ngircd in /usr/sbin, which a non-root PATH often lacks. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable `name` on PATH or in the sbin directories, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The binaries among `kinds` that are missing, as "binary (apt-get install -y package)". */
function missing(kinds: readonly ServerKind[]): string[] {
  return kinds
    .map((k) => SPECS[k]())
    .filter((spec) => findBinary(spec.binary) === undefined)
    .map((spec) => `${spec.binary} (apt-get install -y ${spec.aptPackage})`);
}

/**
 * `describe` for suites that need real servers. Under CI=true the suite always
 * runs and fails in beforeAll if a binary is missing; elsewhere a missing
 * binary skips it, with the binary and its Debian package printed.
 */
export function describeRealServers(name: string, kinds: readonly ServerKind[], fn: () => void): void {
  const absent = missing(kinds);
  if (absent.length === 0) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`CI=true requires these servers: ${absent.join(', ')}`);
      });
      fn();
    });
    return;
  }
  console.warn(`SKIPPING "${name}": missing ${absent.join(', ')}; under CI=true this suite fails instead`);
  // Skipped only outside CI on a machine without the server, with the reason above.
  describe.skip(name, fn); // skip reason: the server binary is missing outside CI (warned above; CI=true fails instead)
}

/** Servers started and not yet disposed, in this process: the 'exit' hook's list. */
const live = new Set<RealServer>();
let hooked = false;

function killAllSync(): void {
  for (const s of live) s.killSync();
}

async function startServer(spec: ServerSpec): Promise<RealServer> {
  const binary = findBinary(spec.binary);
  if (binary === undefined) throw new Error(`${spec.binary} not found (apt-get install -y ${spec.aptPackage})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rtcp-${spec.binary}-`));
  const server = new RealServer(binary, await freePort(), dir, spec);
  live.add(server);
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllSync);
  }
  try {
    await server.start();
  } catch (err) {
    await disposeServer(server);
    throw err;
  }
  return server;
}

async function disposeServer(server: RealServer): Promise<void> {
  await server.dispose();
  live.delete(server);
  if (live.size === 0 && hooked) {
    hooked = false;
    process.off('exit', killAllSync);
  }
}

/** Whether `pid` is still a live process running `binary` (a reused PID running something else does not count). */
function stillRunning(pid: number, binary: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return cmdline.includes(path.basename(binary)) && !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export interface RealServers {
  redis(options?: RedisOptions): Promise<RealServer>;
  mosquitto(options?: MosquittoOptions): Promise<RealServer>;
  ngircd(options?: NgircdOptions): Promise<RealServer>;
}

/**
 * Starts real servers for the calling describe block. After each test every
 * frozen one is thawed; in afterAll every one is stopped by PID and its temp
 * dir removed, then the suite fails if any PID it ever ran under is alive
 * (or, once no server is left, if a child-process handle is).
 */
export function useRealServers(): RealServers {
  const mine = new Set<RealServer>();
  const start = async (spec: ServerSpec): Promise<RealServer> => {
    const s = await startServer(spec);
    mine.add(s);
    return s;
  };
  afterEach(() => {
    for (const s of mine) s.thaw();
  });
  afterAll(async () => {
    const servers = [...mine];
    mine.clear();
    const results = await Promise.allSettled(servers.map(disposeServer));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const left = servers.flatMap((s) => s.pids.filter((pid) => stillRunning(pid, s.binary)).map((pid) => `${s.binary} pid ${pid}`));
    expect(left).toEqual([]);
    // With no server of any suite left, no child-process handle may be either.
    // libuv releases a child's handle a few loop turns after its 'exit': expectResourcesBackTo waits for that.
    if (live.size === 0) await expectResourcesBackTo(resourceSnapshot().filter((r) => r !== 'ProcessWrap'));
  });
  return {
    redis: (options) => start(redisSpec(options)),
    mosquitto: (options) => start(mosquittoSpec(options)),
    ngircd: (options) => start(ngircdSpec(options)),
  };
}
