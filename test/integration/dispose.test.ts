/**
 * `await using`: ResilientClient and HeartbeatServer close themselves when
 * the scope ends (TypeScript compiles `await using` down to a try/finally
 * calling `[Symbol.asyncDispose]()`).
 */
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';

describe('await using', () => {
  it('closes the client and the server at the end of the scope, leaving nothing behind', async () => {
    const before = resourceSnapshot();
    let client: ResilientClient | undefined;
    let server: HeartbeatServer | undefined;
    {
      await using s = new HeartbeatServer({ host: '127.0.0.1' });
      const { port } = await s.listen();
      await using c = new ResilientClient({ host: '127.0.0.1', port });
      await c.connect();
      await c.send('hello');
      client = c;
      server = s;
      expect(c.state).toBe('open');
    }
    // Disposed in reverse order: the client first, then the server.
    expect(client.state).toBe('closed');
    await expect(server.close()).resolves.toBeUndefined();
    await expectResourcesBackTo(before);
  });

  it('[Symbol.asyncDispose]() is close(): the same promise', async () => {
    const client = new ResilientClient({ host: '127.0.0.1', port: 1, reconnect: false });
    const disposing = client[Symbol.asyncDispose]();
    expect(client.close()).toBe(disposing);
    await disposing;
  });
});
