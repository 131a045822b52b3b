import { runDemo } from '../../src/cli/demo';
import { main } from '../../src/cli/main';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';

describe('npm run demo', () => {
  it('shows heartbeats, the outage with backoff, the restart, and delivers the queued messages; leaves nothing open', async () => {
    const before = resourceSnapshot();
    const lines: string[] = [];
    const result = await runDemo((l) => lines.push(l));
    expect(result.delivered).toEqual(['hello while connected', 'queued 1', 'queued 2', 'queued 3']);
    expect(result.heartbeats).toBeGreaterThanOrEqual(4);
    expect(result.reconnectAttempts).toBeGreaterThanOrEqual(3);
    const text = lines.join('\n');
    expect(text).toMatch(/heartbeat: pong after \d+\.\d\d ms/);
    expect(text).toMatch(/reconnect attempt \d+ in \d+ ms after ECONNREFUSED \[unavailable\]/);
    expect(text).toMatch(/resumed=false after \d+ retries/);
    // every line is timestamped
    for (const l of lines) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{3} \+\s*\d+ ms  /);
    await expectResourcesBackTo(before);
  });

  it('the command answers --help and refuses bad input with one line and exit code 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      input: process.stdin,
      out: { write: (s: string) => out.push(s) > 0 },
      err: { write: (s: string) => err.push(s) > 0 },
      signal: new AbortController().signal,
    };
    expect(await main(['--help'], io)).toBe(0);
    expect(out.join('')).toMatch(/serve[\s\S]*connect HOST:PORT[\s\S]*demo/);
    for (const sub of ['serve', 'connect', 'demo']) {
      out.length = 0;
      expect(await main([sub, '--help'], io)).toBe(0);
      expect(out.join('')).toMatch(new RegExp(`usage: resilient-tcp ${sub}`));
    }
    for (const bad of [['bogus'], ['serve', '--bogus'], ['serve', '--port', 'x'], ['connect'], ['connect', 'nohost'], ['connect', 'h:1', '--heartbeat', '5/2'], ['demo', 'extra']]) {
      err.length = 0;
      expect(await main(bad, io)).toBe(2);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/^resilient-tcp: .* \(see --help\)\n$/);
    }
  });
});
