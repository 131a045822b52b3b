/**
 * Client links run every deadline and their heartbeat on the process's one
 * timer wheel (src/io/timer-wheel.ts): however many clients are open, the
 * library's io layer holds one Node timer, and none once they are closed.
 */
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { liveLibraryTimers } from '../support/timer-tracker';

const CLIENTS = 5;

/** Live timers created by src/io/ (a link, a deadline or the wheel), by the first src/ frame of their stack. */
function ioTimers(): string[] {
  return liveLibraryTimers().filter((stack) => stack.split(' <- ')[0]?.includes('/src/io/'));
}

describe('client links on the timer wheel', () => {
  const cleanup = useCleanup();

  it('five open clients pinging hold one Node timer in io/ (the wheel), and none after close()', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1', port: 0 });
    cleanup.push(() => server.close());
    const { port } = await server.listen();
    const clients: ResilientClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const client = new ResilientClient({ host: '127.0.0.1', port, networkCheckMs: false, heartbeat: { intervalMs: 100, timeoutMs: 3000 } });
      cleanup.push(() => client.close());
      clients.push(client);
    }
    await Promise.all(clients.map((c) => c.connect()));
    // Every link has armed its heartbeat and answered a pong through the ledger.
    await Promise.all(clients.map((c) => waitFor(c, 'heartbeat')));
    const timers = ioTimers();
    expect(timers).toHaveLength(1);
    expect(timers[0]).toContain('timer-wheel.ts');
    await Promise.all(clients.map((c) => c.close()));
    expect(ioTimers()).toEqual([]);
  });
});
