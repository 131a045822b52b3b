// The README's quick start, runnable as written: npx tsx examples/quick-start.ts
// (imports point at src/ so it runs without a build; an app imports 'resilient-tcp'
// and 'resilient-tcp/server' instead).
import { ResilientClient } from '../src/index';
import { HeartbeatServer } from '../src/server/index';

async function main(): Promise<void> {
  const server = new HeartbeatServer({ host: '127.0.0.1', idleTimeoutMs: 30_000 });
  server.on('message', (session, payload) => {
    console.log(`${session.clientId}: ${payload.toString()}`);
    void session.send(`echo ${payload.toString()}`); // resolves when the client acked it
  });
  const { port } = await server.listen();

  const client = new ResilientClient({
    host: '127.0.0.1',
    port,
    heartbeat: { intervalMs: 5_000, timeoutMs: 15_000 },
    reconnect: { maxRetries: Infinity, initialDelayMs: 500, maxDelayMs: 30_000, jitter: 'full' },
  });
  client.on('stateChange', ({ from, to, reason }) => console.log(`${from} -> ${to}`, reason?.code ?? ''));
  const echoed = new Promise<void>((resolve) =>
    client.on('message', (payload, { id }) => {
      console.log(`got #${id}: ${payload.toString()}`);
      resolve();
    }),
  );

  await client.connect(); // resolves when open; rejects on a fatal error or when retries run out
  await client.send('hello'); // resolves when the server acknowledged it
  await echoed;
  console.log(client.stats()); // state, reconnects, lastRttMs, queued, inFlight, bytes…
  await client.close(); // waits for acks, says BYE, leaves no socket or timer behind
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
