import { runDemo } from '../../src/demo';
import { main } from '../../src/cli';
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

  it('the command answers --help and refuses unknown commands with exit code 2', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--help'])).toBe(0);
      expect(await main(['bogus'])).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/unknown command 'bogus'/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
