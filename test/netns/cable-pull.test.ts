/**
 * True cable pulls with the SDK (issue 4): a HeartbeatServer in its own
 * network namespace (test/fixtures/netns-server.ts), the ResilientClient in
 * this process on the host, and the veth link between them set down — no FIN,
 * no RST, the peer simply stops answering. Root only; under CI=true the suite
 * must run (describeNetns).
 *
 * Timing asserts: lower bounds tight (the SDK must not give up early), upper
 * bounds generous (2 cores shared with other jobs).
 */
import { type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ResilientClient, type ClientEvents, type ClientOptions, type ResilientError } from '../../src';
import type { ConnectionInfo, ServerOptions } from '../../src/server';
import { record, waitFor } from '../support/events';
import { createNetnsPair, describeNetns, ip, killAndWait, ssCount, waitForSsCount, type NetnsPair } from '../support/netns';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
const FIXTURE = path.join(ROOT, 'test/fixtures/netns-server.ts');

const HEARTBEAT = { intervalMs: 200, timeoutMs: 600 };
const RECONNECT = { initialDelayMs: 50, maxDelayMs: 500 };
const CONNECT_TIMEOUT_MS = 1000;
/** Room for a loaded 2-core machine on top of every upper bound; never part of a lower bound. */
const LOAD_GUARD_MS = 1500;
/** Timer and clock granularity allowed below a lower bound. */
const EPSILON_MS = 2;
/** How long after a pong our `ip link set … down` starts, at most, when nothing else is running (measured: < 5 ms). */
const PULL_AFTER_PONG_MS = 25;
/** Error codes a connect attempt may end with while the cable is out (see the report printed in afterAll). */
const DOWN_CODES = ['EINVAL', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'];
const CLIENT_EVENTS: Array<keyof ClientEvents> = ['stateChange', 'open', 'close', 'reconnecting', 'message', 'heartbeat', 'giveUp', 'error', 'dropped'];

/** What was measured, printed once at the end (the kernel's answers differ by machine; CI logs keep them). */
const report: Record<string, unknown> = {};

type ServerEvent =
  | { type: 'listening'; port: number }
  | { type: 'connection'; sessionId: string; resumed: boolean; remotePort: number; at: number }
  | { type: 'disconnect'; sessionId: string; code: string | undefined; remotePort: number | undefined; at: number; silentMs: number | undefined }
  | { type: 'sessionEnd'; sessionId: string; code: string | undefined; at: number }
  | { type: 'reply'; reqId: number; [k: string]: unknown };

interface Received {
  sessionId: string;
  id: number;
  payload: string;
}
interface ConnectionsReply {
  connections: ConnectionInfo[];
  /** Session id of every server socket past its handshake. */
  openSockets: Array<string | null>;
  socketCount: number;
  sessionCount: number;
}

/** The fixture server inside the namespace, driven over its stdin/stdout JSON lines. */
class NsServer extends EventEmitter {
  readonly events: ServerEvent[] = [];
  private nextReq = 1;
  private stderr = '';

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    super();
  }

  static async start(pair: NetnsPair, options: ServerOptions): Promise<NsServer> {
    const child = pair.spawn(process.execPath, ['--import', 'tsx', FIXTURE, pair.nsAddr, JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => undefined); // EPIPE once the child is killed
    const early: ServerEvent[] = [];
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let server: NsServer | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const port = await new Promise<number>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`netns-server did not listen within 30 s: ${stderr}`)), 30_000);
      child.once('exit', (code, signal) => {
        clearTimeout(guard);
        reject(new Error(`netns-server exited (${code ?? signal}) before listening: ${stderr}`));
      });
      lines.on('line', (line) => {
        const e = JSON.parse(line) as ServerEvent;
        if (server) {
          server.events.push(e);
          server.emit('event', e);
          return;
        }
        early.push(e);
        if (e.type === 'listening') {
          clearTimeout(guard);
          resolve(e.port);
        }
      });
    });
    server = new NsServer(child, port);
    server.events.push(...early);
    server.stderr = stderr;
    child.stderr?.on('data', (d: Buffer) => ((server as NsServer).stderr += d.toString()));
    return server;
  }

  /** The first event at index >= `after` in `events` (already seen or still to come) matching `pred`. */
  async next<T extends ServerEvent>(pred: (e: ServerEvent) => e is T, { after = 0, guardMs = 15_000 } = {}): Promise<T> {
    const seen = this.events.slice(after).find(pred);
    if (seen) return seen;
    const [e] = await waitFor<[T]>(this, 'event', (x: ServerEvent) => pred(x), guardMs);
    return e;
  }

  private async request<T>(cmd: string): Promise<T> {
    const reqId = this.nextReq++;
    const reply = waitFor<[ServerEvent]>(this, 'event', (e: ServerEvent) => e.type === 'reply' && e.reqId === reqId, 10_000);
    this.child.stdin?.write(`${JSON.stringify({ cmd, reqId })}\n`);
    const [e] = await reply.catch((err: Error) => {
      throw new Error(`${err.message} (netns-server stderr: ${this.stderr})`);
    });
    return e as unknown as T;
  }

  async received(): Promise<Received[]> {
    return (await this.request<{ received: Received[] }>('received')).received;
  }

  connections(): Promise<ConnectionsReply> {
    return this.request<ConnectionsReply>('connections');
  }

  stop(): Promise<void> {
    return killAndWait(this.child, { graceMs: 3000 });
  }
}

const isDisconnect = (sessionId: string) => (e: ServerEvent): e is Extract<ServerEvent, { type: 'disconnect' }> =>
  e.type === 'disconnect' && e.sessionId === sessionId;
const isConnection = (sessionId: string) => (e: ServerEvent): e is Extract<ServerEvent, { type: 'connection' }> =>
  e.type === 'connection' && e.sessionId === sessionId;

/** Sends `count` messages, one every `everyMs`, and tracks which were acknowledged. */
function produce(client: ResilientClient, count: number, everyMs: number, prefix: string, onAck: () => void = () => undefined) {
  const sent: string[] = [];
  const acked: string[] = [];
  const failed: Array<{ payload: string; code: string }> = [];
  const settled: Array<Promise<void>> = [];
  let timer: NodeJS.Timeout | undefined;
  let resolveStarted: () => void = () => undefined;
  const allStarted = new Promise<void>((r) => (resolveStarted = r));
  const tick = (): void => {
    timer = undefined;
    const payload = `${prefix}-${sent.length}`;
    sent.push(payload);
    settled.push(
      client.send(payload).then(
        () => {
          acked.push(payload);
          onAck();
        },
        (err: ResilientError) => void failed.push({ payload, code: err.code }),
      ),
    );
    if (sent.length < count) timer = setTimeout(tick, everyMs);
    else resolveStarted();
  };
  tick();
  return {
    sent,
    acked,
    failed,
    /** Resolves when every message was sent and has been acked or rejected. */
    done: async (): Promise<void> => {
      await allStarted;
      await Promise.all(settled);
    },
    stop: (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      resolveStarted();
    },
  };
}

/** Per-type counts of the process's handles (timers and fs requests excluded: see support/resources.ts). */
function handleCounts(): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of resourceSnapshot()) c[r] = (c[r] ?? 0) + 1;
  return c;
}

/** Handle types with more entries now than in `before`, after letting libuv release closed handles (bounded). */
async function handleGrowth(before: Record<string, number>): Promise<Record<string, string>> {
  const grown = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(handleCounts())) if (v > (before[k] ?? 0)) out[k] = `${before[k] ?? 0} before, ${v} now`;
    return out;
  };
  let found = grown();
  for (let i = 0; i < 200 && Object.keys(found).length > 0; i++) {
    await new Promise((r) => setImmediate(r));
    found = grown();
  }
  return found;
}

function listenerCounts(client: ResilientClient): Record<string, number> {
  return Object.fromEntries(CLIENT_EVENTS.map((e) => [e, client.listenerCount(e)]));
}

/** A tiny seeded PRNG (mulberry32), so a failing flap schedule can be replayed with FLAP_SEED. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describeNetns('cable pull (network namespace, veth link set down)', () => {
  let pair: NetnsPair | undefined;
  let server: NsServer | undefined;
  const clients: ResilientClient[] = [];
  const sockets: net.Socket[] = [];
  let before: string[];

  beforeEach(() => {
    before = resourceSnapshot();
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(clients.splice(0).map((c) => c.destroy()));
    if (server) await server.stop();
    await pair?.destroy();
    server = undefined;
    pair = undefined;
    await expectResourcesBackTo(before);
  });

  afterAll(() => {
    if (Object.keys(report).length > 0) console.info(`cable-pull measurements:\n${JSON.stringify(report, null, 2)}`);
  });

  async function setup(serverOptions: ServerOptions = {}): Promise<{ pair: NetnsPair; server: NsServer }> {
    pair = await createNetnsPair();
    server = await NsServer.start(pair, serverOptions);
    return { pair, server };
  }

  function newClient(p: NetnsPair, port: number, overrides: Partial<ClientOptions> = {}): ResilientClient {
    const client = new ResilientClient({
      host: p.nsAddr,
      port,
      heartbeat: HEARTBEAT,
      reconnect: RECONNECT,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      ...overrides,
    });
    clients.push(client);
    return client;
  }

  /** Tracks the time of the client's last pong (the last inbound frame on an idle link). */
  function trackPongs(client: ResilientClient): { readonly at: number } {
    const t = { at: 0 };
    client.on('heartbeat', () => (t.at = performance.now()));
    return t;
  }

  test('idle link pulled: ERR_HEARTBEAT_TIMEOUT within timeoutMs (+ one interval), backoff while down, session resumed after link up', async () => {
    const { pair: p, server: srv } = await setup({ idleTimeoutMs: 30_000 });
    const client = newClient(p, srv.port);
    const pong = trackPongs(client);
    const opens = record<[{ sessionId: string; resumed: boolean }]>(client, 'open');
    await client.connect();
    const sessionId = client.stats().sessionId as string;
    expect(opens[0]?.[0].resumed).toBe(false);
    const closes = record<[{ error: ResilientError; willReconnect: boolean }]>(client, 'close');
    const attempts = record<[{ attempt: number; delayMs: number; error: ResilientError }]>(client, 'reconnecting');

    // Pull right after a pong, so the last inbound frame is known to be just before the pull.
    await waitFor(client, 'heartbeat');
    const pullAt = performance.now();
    await p.linkDown();
    const [close] = await waitFor<[{ error: ResilientError; willReconnect: boolean }]>(client, 'close', undefined, 10_000);
    const closeAt = performance.now();
    expect(close.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(close.error.kind).toBe('transient');
    expect(close.willReconnect).toBe(true);
    expect(closeAt - pong.at).toBeGreaterThanOrEqual(HEARTBEAT.timeoutMs - EPSILON_MS);
    expect(closeAt - pullAt).toBeGreaterThanOrEqual(HEARTBEAT.timeoutMs - PULL_AFTER_PONG_MS);
    expect(closeAt - pullAt).toBeLessThan(HEARTBEAT.timeoutMs + HEARTBEAT.intervalMs + LOAD_GUARD_MS);

    // Still down: the first retry goes at once (transient), the next ones fail and back off.
    await waitFor(client, 'reconnecting', (e: { attempt: number }) => e.attempt >= 4, 15_000);
    const whileDown = attempts.map(([e]) => e);
    expect(whileDown[0]).toMatchObject({ attempt: 1, delayMs: 0 });
    expect(whileDown[0]?.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    for (const e of whileDown.slice(1)) {
      expect(DOWN_CODES).toContain(e.error.code);
      expect(['network', 'unavailable']).toContain(e.error.kind);
      expect(e.delayMs).toBeGreaterThanOrEqual(0);
      expect(e.delayMs).toBeLessThanOrEqual(RECONNECT.maxDelayMs);
    }
    expect(closes).toHaveLength(1); // failed attempts were never open: no more 'close'
    expect(client.state).not.toBe('open');

    const reopened = waitFor<[{ sessionId: string; resumed: boolean; attempt: number }]>(client, 'open', undefined, 15_000);
    const upAt = performance.now();
    await p.linkUp();
    const [open] = await reopened;
    const reopenMs = performance.now() - upAt;
    expect(open).toMatchObject({ sessionId, resumed: true });
    // The server still held the dead connection (idleTimeoutMs 30 s): the resume took it over.
    expect((await srv.next(isDisconnect(sessionId))).code).toBe('ERR_SESSION_TAKEN_OVER');
    expect((await srv.next(isConnection(sessionId), 15_000, 1)).resumed).toBe(true);
    const conns = await srv.connections();
    expect(conns.connections.filter((c) => c.id === sessionId)).toHaveLength(1);
    expect(conns.openSockets).toEqual([sessionId]);

    report.idlePull = {
      detectedMsAfterPull: Math.round(closeAt - pullAt),
      detectedMsAfterLastPong: Math.round(closeAt - pong.at),
      reconnectErrorsWhileDown: whileDown.slice(1).map((e) => `${e.error.code}/${e.error.kind} after ${e.delayMs} ms backoff`),
      reopenedMsAfterLinkUp: Math.round(reopenMs),
      reopenAttempt: open.attempt,
    };
  });

  test('link pulled mid-stream: detected within the same bound; after link up every message arrives exactly once, in order', async () => {
    const { pair: p, server: srv } = await setup({ idleTimeoutMs: 30_000 });
    const client = newClient(p, srv.port);
    let lastInboundAt = 0;
    client.on('heartbeat', () => (lastInboundAt = performance.now()));
    await client.connect();
    const sessionId = client.stats().sessionId as string;

    // Acks are inbound frames too: a send() resolves in the same turn as the ACK that covers it.
    const stream = produce(client, 600, 5, 'm', () => (lastInboundAt = performance.now()));
    await waitFor(client, 'heartbeat', () => stream.acked.length >= 100, 15_000);

    let sentAtPull = 0;
    let sentAtClose = 0;
    const closed = waitFor<[{ error: ResilientError; willReconnect: boolean }]>(client, 'close', undefined, 10_000).then((r) => {
      sentAtClose = stream.sent.length;
      return r;
    });
    const pullAt = performance.now();
    sentAtPull = stream.sent.length;
    await p.linkDown();
    const [close] = await closed;
    const closeAt = performance.now();
    expect(close.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(close.error.kind).toBe('transient');
    expect(closeAt - lastInboundAt).toBeGreaterThanOrEqual(HEARTBEAT.timeoutMs - EPSILON_MS);
    expect(closeAt - pullAt).toBeLessThan(HEARTBEAT.timeoutMs + HEARTBEAT.intervalMs + LOAD_GUARD_MS);
    // Messages were written into the dead link (in flight, unacknowledged) before the verdict.
    expect(sentAtClose - sentAtPull).toBeGreaterThan(10);
    const unackedAtClose = sentAtClose - stream.acked.length;
    expect(unackedAtClose).toBeGreaterThan(10);

    await waitFor(client, 'reconnecting', (e: { attempt: number }) => e.attempt >= 3, 15_000);
    const reopened = waitFor<[{ sessionId: string; resumed: boolean }]>(client, 'open', undefined, 15_000);
    await p.linkUp();
    expect((await reopened)[0]).toMatchObject({ sessionId, resumed: true });

    await stream.done();
    expect(stream.failed).toEqual([]);
    expect(stream.acked).toEqual(stream.sent); // acks resolve in order
    const received = await srv.received();
    expect(received.map((r) => r.payload)).toEqual(stream.sent);
    expect(new Set(received.map((r) => r.sessionId))).toEqual(new Set([sessionId]));
    expect(client.stats()).toMatchObject({ queued: 0, inFlight: 0, messagesOut: stream.sent.length });

    report.midStreamPull = {
      detectedMsAfterPull: Math.round(closeAt - pullAt),
      detectedMsAfterLastInbound: Math.round(closeAt - lastInboundAt),
      sentIntoDeadLinkBeforeVerdict: sentAtClose - sentAtPull,
      unackedAtVerdict: unackedAtClose,
      messages: stream.sent.length,
      duplicatesDroppedByClient: client.stats().duplicatesDropped,
    };
  });

  test('SYN black hole: connect() with connectTimeoutMs 500 and reconnect off rejects with ERR_CONNECT_TIMEOUT at ~500 ms, not the kernel’s ~130 s', async () => {
    const { pair: p, server: srv } = await setup();
    // Pin the namespace end's MAC on the host end, so the SYN really leaves (no ARP failure to
    // report EHOSTUNREACH after ~3 s), then pull the far end of the cable: every SYN is lost.
    const mac = /link\/ether ([0-9a-f:]{17})/.exec((await p.exec(['ip', 'link', 'show', p.nsIf])).stdout)?.[1];
    if (!mac) throw new Error(`no MAC on ${p.nsIf}`);
    await ip(['neigh', 'replace', p.nsAddr, 'lladdr', mac, 'dev', p.hostIf, 'nud', 'permanent']);
    await p.nsLinkDown();

    // A plain socket beside it shows what the kernel alone would do: keep trying.
    const raw = net.connect({ host: p.nsAddr, port: srv.port });
    sockets.push(raw);
    const rawEvents: string[] = [];
    raw.on('connect', () => rawEvents.push('connect'));
    raw.on('error', (e: NodeJS.ErrnoException) => rawEvents.push(e.code ?? e.message));

    const client = newClient(p, srv.port, { connectTimeoutMs: 500, reconnect: false });
    const startedAt = performance.now();
    const err = (await client.connect().then(
      () => new Error('connect() resolved through a black hole'),
      (e: unknown) => e,
    )) as ResilientError;
    const tookMs = performance.now() - startedAt;
    expect(err).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT', kind: 'unavailable' });
    expect(tookMs).toBeGreaterThanOrEqual(500 - EPSILON_MS);
    expect(tookMs).toBeLessThan(500 + LOAD_GUARD_MS);
    expect(client.state).toBe('failed');

    // The kernel is still retransmitting the raw socket's SYN; the client's socket is gone.
    expect(rawEvents).toEqual([]);
    expect(await ssCount(undefined, { port: srv.port, state: 'syn-sent' })).toBe(1);
    raw.destroy();
    expect(await waitForSsCount(undefined, { port: srv.port }, 0)).toBe(0);

    report.synBlackHole = { connectRejectedAfterMs: Math.round(tookMs), code: err.code, kind: err.kind };
  });

  test('server side: after a pull the server closes the dead connection within idleTimeoutMs + one sweep tick, and no socket is left in the namespace', async () => {
    const idleTimeoutMs = 600;
    const sweepIntervalMs = 150; // the default for this idle timeout, spelled out for the bound below
    const { pair: p, server: srv } = await setup({ idleTimeoutMs, sweepIntervalMs });
    const client = newClient(p, srv.port, { heartbeat: { intervalMs: 100, timeoutMs: 300 } });
    await client.connect();
    const sessionId = client.stats().sessionId as string;
    const { remotePort } = await srv.next(isConnection(sessionId));
    expect(await ssCount(p.ns, { port: srv.port, state: 'established' })).toBe(1);

    await waitFor(client, 'heartbeat');
    const pullEpoch = Date.now();
    await p.linkDown();
    // The client notices first (300 ms) and drops its socket; its FIN cannot cross the pulled cable.
    const [close] = await waitFor<[{ error: ResilientError }]>(client, 'close', undefined, 10_000);
    expect(close.error.code).toBe('ERR_HEARTBEAT_TIMEOUT');

    const gone = await srv.next(isDisconnect(sessionId), 10_000);
    expect(gone.code).toBe('ERR_HEARTBEAT_TIMEOUT');
    expect(gone.remotePort).toBe(remotePort);
    // Measured inside the server: from the last byte that reached it to the disconnect.
    expect(gone.silentMs).toBeGreaterThanOrEqual(idleTimeoutMs - EPSILON_MS);
    expect(gone.silentMs).toBeLessThan(idleTimeoutMs + sweepIntervalMs + LOAD_GUARD_MS);
    // And from the pull (both clocks are the machine's wall clock).
    expect(gone.at - pullEpoch).toBeGreaterThanOrEqual(idleTimeoutMs - PULL_AFTER_PONG_MS);
    expect(gone.at - pullEpoch).toBeLessThan(idleTimeoutMs + sweepIntervalMs + LOAD_GUARD_MS);

    // Still down: nothing may be left of that connection in the namespace (TIME-WAIT excluded).
    const left = await waitForSsCount(p.ns, { port: srv.port }, 0, 5000);
    const leftStates = left === 0 ? '' : (await p.exec(['ss', '-H', '-tan', 'state', 'connected', 'exclude', 'time-wait'])).stdout.trim();
    report.serverSweep = {
      disconnectMsAfterPull: gone.at - pullEpoch,
      silentMsAtDisconnect: Math.round(gone.silentMs ?? -1),
      socketsLeftInNamespace: leftStates || 0,
    };
    expect(leftStates).toBe('');
    expect((await srv.connections()).connections).toEqual([]);

    // The session outlives the connection (sessionTtlMs): the client resumes it once the cable is back.
    const reopened = waitFor<[{ sessionId: string; resumed: boolean }]>(client, 'open', undefined, 15_000);
    await p.linkUp();
    expect((await reopened)[0]).toMatchObject({ sessionId, resumed: true });
  });

  test('flapping for 30 s while sending every ~50 ms: never two live connections per session, no handle or listener growth, every acked message delivered exactly once', async () => {
    const FLAP_FOR_MS = 30_000;
    const seed = Number(process.env.FLAP_SEED) || Math.floor(Math.random() * 2 ** 31);
    const random = seeded(seed);
    // The server keeps a dead connection for longer than any down phase, so each resume is a takeover.
    const { pair: p, server: srv } = await setup({ idleTimeoutMs: 10_000 });
    const client = newClient(p, srv.port);
    const opens = record<[{ sessionId: string; resumed: boolean }]>(client, 'open');
    const closes = record<[{ error: ResilientError }]>(client, 'close');
    const downCodes = new Map<string, number>();
    client.on('reconnecting', (e) => downCodes.set(e.error.code, (downCodes.get(e.error.code) ?? 0) + 1));
    await client.connect();
    const sessionId = client.stats().sessionId as string;
    const handlesBefore = handleCounts();
    const listenersBefore = listenerCounts(client);

    const stream = produce(client, Math.ceil(FLAP_FOR_MS / 50), 50, 'f');
    const polls: ConnectionsReply[] = [];
    const poll = async (): Promise<void> => {
      const c = await srv.connections();
      polls.push(c);
      expect(c.connections.filter((r) => r.id === sessionId).length).toBeLessThanOrEqual(1);
      expect(c.openSockets.filter((id) => id === sessionId).length).toBeLessThanOrEqual(1);
      expect(c.openSockets.length).toBeLessThanOrEqual(1);
    };
    const schedule: number[] = [];
    const startedAt = performance.now();
    let down = false;
    for (let i = 0; i < 40 && performance.now() - startedAt < FLAP_FOR_MS; i++) {
      const phaseMs = 1000 + Math.floor(random() * 2000);
      schedule.push(phaseMs);
      down = !down;
      await (down ? p.linkDown() : p.linkUp());
      await delay(phaseMs); // the fault is defined by its duration
      await poll();
    }
    if (down) await p.linkUp();
    stream.stop();

    // Settle: the client is back (resumed), every send acknowledged.
    if (client.state !== 'open') await waitFor(client, 'open', undefined, 15_000);
    await stream.done();
    await poll();
    expect(stream.failed).toEqual([]);
    expect(opens.every(([o], i) => i === 0 || (o.resumed && o.sessionId === sessionId))).toBe(true);
    expect(polls.at(-1)?.openSockets).toEqual([sessionId]);

    const received = (await srv.received()).map((r) => r.payload);
    expect(new Set(received).size).toBe(received.length); // no duplicates
    const counts = new Map<string, number>();
    for (const m of received) counts.set(m, (counts.get(m) ?? 0) + 1);
    for (const m of stream.acked) expect([m, counts.get(m)]).toEqual([m, 1]);
    expect(received).toEqual(stream.sent.slice(0, received.length)); // in order, nothing skipped

    expect(await handleGrowth(handlesBefore)).toEqual({});
    expect(listenerCounts(client)).toEqual(listenersBefore);

    report.flapping = {
      seed,
      phasesMs: schedule,
      reconnects: client.stats().reconnects,
      closeCodes: [...new Set(closes.map(([c]) => c.error.code))],
      reconnectingErrorCodes: Object.fromEntries(downCodes),
      sent: stream.sent.length,
      acked: stream.acked.length,
      maxServerSockets: Math.max(...polls.map((c) => c.socketCount)),
      maxOpenSocketsPerSession: Math.max(...polls.map((c) => c.openSockets.length)),
    };
  }, 90_000);
});
