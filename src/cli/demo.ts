/**
 * The demo behind `npm run demo` and `resilient-tcp demo`, about 4 s on
 * 127.0.0.1, in three acts, each line saying what it means:
 *
 *  1. the link goes silent (a relay stops carrying bytes, no FIN, no RST):
 *     the heartbeat notices (ERR_HEARTBEAT_TIMEOUT), the client reconnects
 *     and resumes its session (resumed=true); the message sent into the
 *     silence is resent and arrives once;
 *  2. the server restarts: a new session (resumed=false is expected), the
 *     messages sent while it was down were queued and arrive once each;
 *  3. the tally: every message once, what the counters mean.
 */
import { ResilientClient } from '../index';
import { HeartbeatServer } from '../server/index';
import { SilentRelay } from './silent-relay';

export interface DemoResult {
  /** Messages the server(s) received, in order. */
  delivered: string[];
  /** `resumed` of each `open` event, in order. */
  opens: boolean[];
  /** The error code that ended each lost connection. */
  losses: string[];
  reconnectAttempts: number;
  heartbeats: number;
}

type Print = (line: string) => void;

/** The client pings this often… */
const PING_MS = 300;
/** …and declares the link dead after this much silence. */
const DEAD_MS = 1000;
/** Retries start fast so the demo stays short (the default is 1000 ms). */
const RETRY_MS = 250;

/** What a retry's reason means, said once per code. */
const MEANINGS: Record<string, string> = {
  ERR_SERVER_BYE: 'ERR_SERVER_BYE: the server said goodbye before closing; [unavailable] is the error\'s kind: try again later, with backoff',
  ECONNREFUSED: 'ECONNREFUSED [unavailable]: nothing listens on the port yet; the client keeps retrying with jittered backoff',
};

export async function runDemo(print: Print = (l) => process.stdout.write(`${l}\n`)): Promise<DemoResult> {
  const t0 = Date.now();
  const say = (msg: string): void => {
    const stamp = new Date().toISOString().slice(11, 23);
    print(`${stamp} +${String(Date.now() - t0).padStart(5)} ms  ${msg}`);
  };
  const explain = (msg: string): void => say(`   ${msg}`);
  const result: DemoResult = { delivered: [], opens: [], losses: [], reconnectAttempts: 0, heartbeats: 0 };
  const startServer = async (port: number, name: string): Promise<HeartbeatServer> => {
    const s = new HeartbeatServer({ host: '127.0.0.1', port, idleTimeoutMs: 3000 });
    s.on('message', (session, payload, { id }) => {
      result.delivered.push(payload.toString());
      say(`${name} received #${id} "${payload.toString()}" from ${session.clientId}`);
    });
    await s.listen();
    return s;
  };

  let server = await startServer(0, 'server');
  const serverPort = server.address()!.port;
  const relay = new SilentRelay(serverPort);
  const port = await relay.listen();
  say(`server on 127.0.0.1:${serverPort}; the client reaches it through a relay on :${port} that can go silent`);

  const client = new ResilientClient({
    host: '127.0.0.1',
    port,
    clientId: 'demo-client',
    heartbeat: { intervalMs: PING_MS, timeoutMs: DEAD_MS },
    reconnect: { initialDelayMs: RETRY_MS, maxDelayMs: 1000, jitter: 'full' },
  });
  const explained = new Set<string>();
  client.on('stateChange', ({ from, to, reason }) => say(`client ${from} -> ${to}${reason ? ` (${reason.code})` : ''}`));
  client.on('heartbeat', ({ rttMs }) => {
    if (result.heartbeats++ < 2) say(`heartbeat: pong after ${rttMs.toFixed(2)} ms (a ping every ${PING_MS} ms; ${DEAD_MS} ms without an answer means the link is dead)`);
  });
  client.on('close', ({ error }) => {
    if (error) result.losses.push(error.code);
  });
  client.on('reconnecting', ({ attempt, delayMs, error }) => {
    result.reconnectAttempts++;
    say(`reconnect attempt ${attempt} in ${delayMs} ms after ${error.code} [${error.kind}]`);
    const meaning = MEANINGS[error.code];
    if (meaning && !explained.has(error.code)) {
      explained.add(error.code);
      explain(meaning);
    }
  });
  client.on('open', ({ sessionId, resumed }) => {
    result.opens.push(resumed);
    say(`open: session ${(sessionId ?? '').slice(0, 8)}… resumed=${resumed}`);
  });

  try {
    await client.connect();
    await client.send('hello');
    await waitForCount(client, 'heartbeat', 2);

    say('--- act 1: the link goes silent (no FIN, no RST: like a pulled cable; TCP alone would not notice for minutes) ---');
    const lost = waitForEvent(client, 'close');
    relay.silence();
    const silentAt = Date.now();
    const intoSilence = client.send('sent into the silence');
    say(`client sent "sent into the silence": written, not acknowledged (inFlight=${client.stats().inFlight})`);
    await lost;
    explain(`ERR_HEARTBEAT_TIMEOUT after ${Date.now() - silentAt} ms: no pong within ${DEAD_MS} ms, so the client dropped the dead link itself; [transient]: worth retrying at once`);
    await waitForEvent(client, 'open');
    explain('resumed=true: the server kept the session, so nothing is lost; the client resends only what was not acknowledged');
    await intoSilence;
    say('"sent into the silence" acknowledged: received once by the server, not twice');

    say('--- act 2: the server restarts (a new process has none of the old sessions) ---');
    relay.stopListening(); // nothing answers on the client's port until the restart
    await server.close(); // says BYE to the client
    await waitForCount(client, 'reconnecting', 2);
    const queued = ['queued 1', 'queued 2', 'queued 3'].map((m) => client.send(m));
    say(`3 messages sent while the server is down: queued=${client.stats().queued}, they wait for a connection`);
    server = await startServer(serverPort, 'server (restarted)');
    await relay.listen(port);
    say('server restarted on the same port');
    await waitForEvent(client, 'open');
    explain('resumed=false is expected: a restarted server starts a new session; the queued messages go out in it');
    await Promise.all(queued);
    say('all 3 queued messages acknowledged by the restarted server');

    say('--- act 3: the tally ---');
    const s = client.stats();
    say(`client stats: state=${s.state} reconnects=${s.reconnects} rtt=${s.lastRttMs?.toFixed(2)} ms sent=${s.messagesOut}`);
    explain(`reconnects=${s.reconnects}: connections opened after the first one (after the silence, after the restart)`);
    explain(`${result.reconnectAttempts} retries in all: each failed or lost connection schedules the next, with backoff`);
    explain(`sent=${s.messagesOut}, received by the servers=${result.delivered.length}: every message exactly once`);
  } finally {
    await client.close();
    await server.close();
    await relay.close();
  }
  say('done: client and server closed');
  return result;
}

function waitForEvent(client: ResilientClient, event: 'open' | 'close'): Promise<void> {
  return new Promise((resolve) => client.once(event, () => resolve()));
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
