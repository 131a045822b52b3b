/**
 * The demo behind `npm run demo` and `resilient-tcp demo`: a server and a
 * client on 127.0.0.1; heartbeats with RTT; the server stops; the client
 * detects it and backs off; messages sent meanwhile are queued; the server
 * restarts on the same port; the client reconnects and the messages arrive.
 */
import { ResilientClient } from './client/client';
import { HeartbeatServer } from './server/server';

export interface DemoResult {
  delivered: string[];
  reconnectAttempts: number;
  heartbeats: number;
}

type Print = (line: string) => void;

export async function runDemo(print: Print = (l) => process.stdout.write(`${l}\n`)): Promise<DemoResult> {
  const t0 = Date.now();
  const say = (msg: string): void => {
    const stamp = new Date().toISOString().slice(11, 23);
    print(`${stamp} +${String(Date.now() - t0).padStart(5)} ms  ${msg}`);
  };
  const delivered: string[] = [];
  const attach = (server: HeartbeatServer, name: string): void => {
    server.on('message', (session, payload) => {
      delivered.push(payload.toString());
      say(`${name} received "${payload.toString()}" from ${session.clientId}`);
    });
  };

  let server = new HeartbeatServer({ host: '127.0.0.1', idleTimeoutMs: 3000 });
  attach(server, 'server');
  const { port } = await server.listen();
  say(`server listening on 127.0.0.1:${port}`);

  const client = new ResilientClient({
    host: '127.0.0.1',
    port,
    clientId: 'demo-client',
    heartbeat: { intervalMs: 300, timeoutMs: 1000 },
    reconnect: { initialDelayMs: 250, maxDelayMs: 1500, jitter: 'full' },
  });
  let heartbeats = 0;
  let reconnectAttempts = 0;
  client.on('stateChange', ({ from, to, reason }) => say(`client ${from} -> ${to}${reason ? ` (${reason.code})` : ''}`));
  client.on('heartbeat', ({ rttMs }) => {
    heartbeats++;
    say(`heartbeat: pong after ${rttMs.toFixed(2)} ms`);
  });
  client.on('close', ({ error, willReconnect }) =>
    say(error ? `connection lost: ${error.code} (${error.message}); will reconnect: ${willReconnect}` : 'connection closed by the client'),
  );
  client.on('reconnecting', ({ attempt, delayMs, error }) => {
    reconnectAttempts++;
    say(`reconnect attempt ${attempt} in ${delayMs} ms after ${error.code} [${error.kind}]`);
  });
  client.on('open', ({ sessionId, resumed, attempt }) =>
    say(`open: session ${(sessionId ?? "").slice(0, 8)}… resumed=${resumed} after ${attempt} retries`),
  );

  try {
    await client.connect();
    await client.send('hello while connected');
    await waitForCount(client, 'heartbeat', 3);

    say('--- stopping the server ---');
    await server.close();
    await waitForCount(client, 'reconnecting', 3);

    say('--- sending 3 messages while the server is down (they queue) ---');
    const queued = ['queued 1', 'queued 2', 'queued 3'].map((m) => client.send(m));
    say(`client stats: queued=${client.stats().queued}`);

    say('--- restarting the server on the same port ---');
    server = new HeartbeatServer({ host: '127.0.0.1', port, idleTimeoutMs: 3000 });
    attach(server, 'server (restarted)');
    await server.listen();
    await Promise.all(queued);
    say('all queued messages acknowledged by the restarted server');
    await waitForCount(client, 'heartbeat', 1);
    const s = client.stats();
    say(`client stats: state=${s.state} reconnects=${s.reconnects} rtt=${s.lastRttMs?.toFixed(2)} ms sent=${s.messagesOut}`);
  } finally {
    await client.close();
    await server.close();
  }
  say('done: client and server closed');
  return { delivered, reconnectAttempts, heartbeats };
}

function waitForCount(client: ResilientClient, event: 'heartbeat' | 'reconnecting', n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (): void => {
      if (++seen >= n) {
        client.off(event, on);
        resolve();
      }
    };
    client.on(event, on);
  });
}
