import { ResilientClient } from '../../src';
import { waitFor } from '../support/events';
import { liveLibraryTimers } from '../support/timer-tracker';
import * as net from 'node:net';

// The leak checks must be able to fail: a reconnecting client owns a retry
// timer, which the tracker must see, and close() must remove it.
describe('leak check sees library timers', () => {
  it('lists the retry timer of a reconnecting client, and nothing after close()', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' } });
    void client.connect().catch(() => {});
    await waitFor(client, 'reconnecting');
    expect(liveLibraryTimers().some((t) => t.includes('lifecycle.ts'))).toBe(true);
    await client.close();
    expect(liveLibraryTimers()).toEqual([]);
  });
});
