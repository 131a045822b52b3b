import { runDemo } from '../../src/cli/demo';
import { main } from '../../src/cli/main';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';

describe('npm run demo', () => {
  it('shows a silent link caught by the heartbeat, a resumed session, a server restart with queued messages, each explained; leaves nothing open', async () => {
    const before = resourceSnapshot();
    const lines: string[] = [];
    const result = await runDemo((l) => lines.push(l));
    // every message exactly once, including the one sent into the silence (resent after the resume)
    expect(result.delivered).toEqual(['hello', 'sent into the silence', 'queued 1', 'queued 2', 'queued 3']);
    expect(result.losses).toEqual(['ERR_HEARTBEAT_TIMEOUT', 'ERR_SERVER_BYE']);
    expect(result.opens).toEqual([false, true, false]); // first, resumed across the silence, new session after the restart
    expect(result.heartbeats).toBeGreaterThanOrEqual(2);
    const text = lines.join('\n');
    expect(text).toMatch(/heartbeat: pong after \d+\.\d\d ms \(a ping every 300 ms; 1000 ms without an answer means the link is dead\)/);
    expect(text).toMatch(/the link goes silent \(no FIN, no RST/);
    expect(text).toMatch(/ERR_HEARTBEAT_TIMEOUT after \d+ ms: no pong within 1000 ms/);
    expect(text).toMatch(/open: session \w+… resumed=true\n.*resumed=true: the server kept the session/);
    expect(text).toMatch(/reconnect attempt \d+ in \d+ ms after ECONNREFUSED \[unavailable\]\n.*ECONNREFUSED \[unavailable\]: nothing listens/);
    expect(text).toMatch(/resumed=false is expected: a restarted server starts a new session/);
    expect(text).toMatch(/reconnects=2: connections opened after the first one/);
    expect(text).toMatch(/sent=5, received by the servers=5: every message exactly once/);
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
