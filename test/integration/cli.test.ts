import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

function run(args: string[]): ChildProcess & { text: () => string; waitFor: (re: RegExp) => Promise<RegExpExecArray> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    child.emit('output');
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return Object.assign(child, {
    text: () => out,
    waitFor: (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            child.off('output', check);
            clearTimeout(guard);
            resolve(m);
          }
        };
        const guard = setTimeout(() => reject(new Error(`no ${re} in:\n${out}`)), 20_000);
        child.on('output', check);
        check();
      }),
  });
}

const exit = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

describe('resilient-tcp command', () => {
  it('serve --json relays lines between two connect clients, and they notice when it stops', async () => {
    const server = run(['serve', '--port', '0', '--json']);
    const children: ChildProcess[] = [server];
    try {
      const port = Number((await server.waitFor(/"event":"listening".*"port":(\d+)/))[1]);
      const alice = run(['connect', `127.0.0.1:${port}`, '--client-id', 'alice', '--heartbeat', '200/600']);
      const bob = run(['connect', `127.0.0.1:${port}`, '--client-id', 'bob', '--heartbeat', '200/600']);
      children.push(alice, bob);
      await Promise.all([alice.waitFor(/-- open/), bob.waitFor(/-- open/)]);
      alice.stdin!.write('hello from alice\n');
      await bob.waitFor(/alice: hello from alice/);
      await alice.waitFor(/alice: hello from alice/);
      const events = server
        .text()
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event: string; clientId?: string });
      expect(events.filter((e) => e.event === 'connection').map((e) => e.clientId).sort()).toEqual(['alice', 'bob']);
      expect(events.some((e) => e.event === 'message' && e.clientId === 'alice')).toBe(true);

      server.kill('SIGTERM'); // graceful: BYE to everyone
      expect(await exit(server)).toBe(0);
      await alice.waitFor(/-- reconnecting: attempt \d+, next in \d+ ms after ECONNREFUSED, 0 queued/);
      alice.stdin!.end();
      bob.stdin!.end();
      expect(await exit(alice)).toBe(0);
      expect(await exit(bob)).toBe(0);
    } finally {
      for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    }
  });
});
