/**
 * What an idle client holds (bench/heap-per-client.ts): a client connected to
 * one endpoint that has never sent keeps no outbound window, no retry or
 * rotation object; each is made when first needed and then works as before.
 */
import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';

/** The lifecycle's parts this file looks at (internals: src/client/lifecycle.ts). */
interface LifeParts {
  outboundIfAny: unknown;
  extras: unknown;
  retry?: unknown;
  endpoints?: unknown;
}
const lifeOf = (c: ResilientClient): LifeParts => (c as unknown as { life: LifeParts }).life;

describe('an idle client', () => {
  const cleanup = useCleanup();

  it('connected to one endpoint, never sent: no outbound window, retry or rotation object; its first send makes the window and is delivered', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port });
    cleanup.push(() => client.close(), () => server.close());
    await client.connect();
    const life = lifeOf(client);
    expect(life.outboundIfAny).toBeUndefined();
    expect(life.extras).toBeUndefined();
    expect(life.retry).toBeUndefined();
    expect(life.endpoints).toBeUndefined();
    const got = waitFor<[unknown, Buffer]>(server, 'message');
    await client.send('first');
    expect((await got)[1].toString()).toBe('first');
    expect(life.outboundIfAny).toBeDefined();
    expect(client.stats()).toMatchObject({ messagesOut: 1, queued: 0, inFlight: 0 });
  });

  it('two endpoints: the rotation moves to the second after the first refuses, and the client opens there', async () => {
    const server = new HeartbeatServer({ host: '127.0.0.1' });
    const { port } = await server.listen();
    const dead = new HeartbeatServer({ host: '127.0.0.1' });
    const { port: deadPort } = await dead.listen();
    await dead.close();
    const client = new ResilientClient({ endpoints: [{ host: '127.0.0.1', port: deadPort }, { host: '127.0.0.1', port }], reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
    cleanup.push(() => client.close(), () => server.close());
    const attempts: string[] = [];
    client.on('error', () => undefined);
    client.on('reconnecting', () => attempts.push('retry'));
    await client.connect();
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(lifeOf(client).extras).toBeDefined();
    expect(client.state).toBe('open');
  });
});
