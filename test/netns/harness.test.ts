/**
 * The network-namespace harness (test/support/netns.ts): a real veth link
 * whose cable we pull. Root only; under CI=true the suite must run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createNetnsPair, describeNetns, ip, killAndWait, ssCount, waitForSsCount, type NetnsPair } from '../support/netns';

jest.setTimeout(60_000);

/** A one-file echo server; prints "listening <port>" once bound to argv[1]. */
const ECHO_SERVER = `
const net = require('net');
const server = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
server.listen(0, process.argv[1], () => process.stdout.write('listening ' + server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Resolves with the port the echo child reports; rejects if it exits first. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`echo server exited (${code}) before listening: ${err}`)));
  });
}

interface Conn {
  socket: net.Socket;
  errors: Error[];
  closed: boolean;
}

async function connect(host: string, port: number): Promise<Conn> {
  const socket = net.connect({ host, port });
  const conn: Conn = { socket, errors: [], closed: false };
  socket.on('error', (e) => conn.errors.push(e));
  socket.on('close', () => (conn.closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return conn;
}

/** Resolves with the next 'data' chunk, or null when `guardMs` passes first (the guard timer is always cleared). */
function nextData(socket: net.Socket, guardMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const onData = (d: Buffer): void => {
      clearTimeout(timer);
      resolve(d);
    };
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(null);
    }, guardMs);
    socket.once('data', onData);
  });
}

/** Reads until `expected` has arrived (retransmission after a link comes back may take a few seconds). */
async function expectEcho(socket: net.Socket, expected: string, guardMs = 30_000): Promise<void> {
  let got = '';
  while (got.length < expected.length) {
    const d = await nextData(socket, guardMs);
    if (d === null) throw new Error(`no echo of ${JSON.stringify(expected)} within ${guardMs} ms (got ${JSON.stringify(got)})`);
    got += d.toString();
  }
  expect(got).toBe(expected);
}

/**
 * How long to wait for a segment written at `wroteAt` once the link is back:
 * TCP doubles its retransmission timeout while the link is down, so the next
 * try comes up to about as long after link-up as the segment had waited
 * before it (a loaded machine stretches the down phase: the `ip` commands
 * and the 2 s no-answer check). Twice the wait so far plus 10 s, at least 30 s.
 */
function retransmitGuardMs(wroteAt: number): number {
  return Math.max(30_000, 2 * (Date.now() - wroteAt) + 10_000);
}

/** True unless the PID is gone or a zombie (a container's PID 1 may not reap orphans). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

interface Made {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  childPid: number;
}

/** The /30 a pair's host address belongs to, as `ip route` prints it. */
function subnetOf(hostAddr: string): string {
  const octets = hostAddr.split('.').map(Number);
  return `${octets.slice(0, 3).join('.')}.${(octets[3] ?? 0) - 1}/30`;
}

/** Asserts nothing of a pair is left on the machine. */
function expectGone(made: Omit<Made, 'childPid'>): void {
  expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(made.ns);
  const links = execFileSync('ip', ['-o', 'link', 'show']).toString();
  expect(links).not.toContain(made.hostIf);
  expect(links).not.toContain(made.nsIf);
  expect(execFileSync('ip', ['-4', 'route', 'show', 'table', 'all']).toString()).not.toContain(subnetOf(made.hostAddr));
}

/** Retransmissions must never leave through the host's default route while a cable is pulled. */
async function expectRouteStaysOnVeth(p: NetnsPair): Promise<void> {
  const route = await ip(['route', 'get', p.nsAddr]).catch(() => null); // null: blackholed, the wanted outcome
  if (route !== null) expect(route).toContain(`dev ${p.hostIf}`);
}

/** Runs fixtures/hold-pair.ts in its own Node process (tsx loader) and reads what it created. */
async function runHoldPair(mode: 'exit' | 'signal'): Promise<{ child: ChildProcess; made: Made }> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/hold-pair.ts'), mode], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const made = await new Promise<Made>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as Made);
    });
    child.once('exit', (code) => (out.includes('\n') ? undefined : reject(new Error(`fixture exited (${code}): ${err}`))));
  });
  return { child, made };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describeNetns('netns harness', () => {
  let pair: NetnsPair | undefined;
  let server: ChildProcess | undefined;
  let conn: Conn | undefined;

  afterEach(async () => {
    conn?.socket.destroy();
    if (server) await killAndWait(server);
    await pair?.destroy();
    pair = undefined;
    server = undefined;
    conn = undefined;
  });

  async function echoPair(): Promise<{ pair: NetnsPair; port: number; conn: Conn }> {
    pair = await createNetnsPair();
    server = pair.spawn(process.execPath, ['-e', ECHO_SERVER, pair.nsAddr], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await listeningPort(server);
    conn = await connect(pair.nsAddr, port);
    return { pair, port, conn };
  }

  test('creates a namespace with a veth pair and an addressed /30', async () => {
    pair = await createNetnsPair();
    expect(pair.ns).toMatch(new RegExp(`^rtcp-${process.pid}-\\d+-`));
    expect(pair.hostIf.length).toBeLessThanOrEqual(15);
    expect(pair.nsIf.length).toBeLessThanOrEqual(15);
    expect(pair.hostAddr).toMatch(/^10\.213\.\d+\.\d+$/);
    const { stdout } = await pair.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', pair.nsIf]);
    expect(stdout).toContain(`${pair.nsAddr}/30`);
  });

  test('echo works across the pair, stalls silently on a host-side cable pull, and resumes on the same socket', async () => {
    const { pair: p, port, conn: c } = await echoPair();
    c.socket.write('one');
    await expectEcho(c.socket, 'one');
    expect(await ssCount(p.ns, { port, state: 'established' })).toBe(1);

    await p.linkDown();
    await expectRouteStaysOnVeth(p);
    const wroteAt = Date.now();
    c.socket.write('two');
    // The definition of the fault: no answer and no error for a while.
    expect(await nextData(c.socket, 2000)).toBeNull();
    expect(c.errors).toEqual([]);
    expect(c.closed).toBe(false);

    await p.linkUp();
    await expectEcho(c.socket, 'two', retransmitGuardMs(wroteAt)); // TCP retransmits once the cable is back
    expect(c.errors).toEqual([]);
  }, 150_000);

  test('a cable pull on the namespace end stalls and resumes too', async () => {
    const { pair: p, conn: c } = await echoPair();
    c.socket.write('a');
    await expectEcho(c.socket, 'a');

    await p.nsLinkDown();
    await expectRouteStaysOnVeth(p);
    const wroteAt = Date.now();
    c.socket.write('b');
    expect(await nextData(c.socket, 2000)).toBeNull();
    expect(c.errors).toEqual([]);

    await p.nsLinkUp();
    await expectEcho(c.socket, 'b', retransmitGuardMs(wroteAt));
  }, 150_000);

  test('ssCount sees the connection on the host and in the namespace, and nothing once it is gone', async () => {
    const { port, conn: c, pair: p } = await echoPair();
    c.socket.write('x');
    await expectEcho(c.socket, 'x'); // both ends are ESTABLISHED by now
    expect(await ssCount(undefined, { port, state: 'established' })).toBe(1);
    expect(await ssCount(p.ns, { port, state: 'established' })).toBe(1);
    c.socket.destroy();
    await killAndWait(server as ChildProcess);
    server = undefined;
    // FIN handshakes finish in the kernel with no event to wait for; TIME-WAIT is not counted.
    expect(await waitForSsCount(p.ns, { port }, 0)).toBe(0);
    expect(await waitForSsCount(undefined, { port }, 0)).toBe(0);
  });

  test('destroy removes the namespace, the veth pair and the host route, and is idempotent', async () => {
    const p = await createNetnsPair();
    pair = p;
    const child = p.spawn('sleep', ['300'], { stdio: 'ignore' });
    await p.destroy();
    await p.destroy();
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    expectGone(p);
  });

  describe('when the process ends without destroy()', () => {
    let fixture: ChildProcess | undefined;
    afterEach(async () => {
      if (fixture) await killAndWait(fixture, { signal: 'SIGKILL' });
      fixture = undefined;
    });

    test('the exit hook removes everything', async () => {
      const run = await runHoldPair('exit');
      fixture = run.child;
      expect(await exited(run.child)).toEqual({ code: 3, signal: null });
      expectGone(run.made);
      expect(isAlive(run.made.childPid)).toBe(false);
    });

    test('the SIGTERM handler removes everything and the process still dies of SIGTERM', async () => {
      const run = await runHoldPair('signal');
      fixture = run.child;
      const done = exited(run.child);
      process.kill(run.child.pid as number, 'SIGTERM');
      expect(await done).toEqual({ code: null, signal: 'SIGTERM' });
      expectGone(run.made);
      expect(isAlive(run.made.childPid)).toBe(false);
    });
  });
});
