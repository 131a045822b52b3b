/**
 * A sleeping laptop, seen from outside (issue 9 item 1). The client runs in
 * its own process (test/fixtures/client-process.ts, public API only), which
 * the test stops with SIGSTOP and continues with SIGCONT: the whole process
 * is frozen, timers and reads alike, while the kernel keeps its sockets (SYNs
 * are retransmitted, the peer's bytes are queued). Two rules, for each of the
 * connect, handshake, frame and heartbeat deadlines:
 *  - after waking, the deadline fires no later than its own length after the
 *    wake: the stall is not waited out a second time;
 *  - an answer that arrived during the stall is read, not timed out.
 * test/integration/stalls.test.ts pins the same rules for the event loop
 * blocked inside the process.
 *
 * The bounds are correctness bounds, not benchmarks: "≤ deadline + MARGIN_MS
 * after SIGCONT", with sleeps six times the deadline, so a deadline that waits
 * the stall out again cannot pass. Timings are taken here, with
 * performance.now(), around the SIGCONT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { ClientOptions } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { FrameType, encodeData, encodeFrame } from '../../src/protocol/frames';
import { ClientProcess, freezePid, type ClientLine } from '../support/client-process';
import { waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { killAndWait } from '../support/netns-process';
import { RawServer, welcomeFrame } from '../support/raw-server';

/** Length of every sleep: much longer than each deadline, so waiting it out twice shows. */
const STALL_MS = 12_000;
/** The connect, handshake and frame deadlines under test. */
const DEADLINE_MS = 2000;
/** Allowed on top of a deadline after waking: a loaded 2-core machine, the child's wake-up, the line reaching us. */
const MARGIN_MS = 1500;
/** Guard on waiting for the verdict after waking: long enough to see today's late verdicts (~stall − deadline) and report them. */
const VERDICT_GUARD_MS = STALL_MS + 15_000;
/** A trickling server sends one byte this often. */
const TRICKLE_EVERY_MS = 100;

jest.setTimeout(90_000);

const SYN_GATE = path.resolve(__dirname, '../fixtures/syn-gate.ts');

/** Milliseconds from each wake to its verdict, printed once at the end. */
const report: Record<string, number> = {};

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hasError = (l: ClientLine): boolean => l.code !== undefined;

/** When a sleeping client was woken (performance.now()), and the index of its first line after. */
interface Woke {
  wokeAt: number;
  mark: number;
}

describe('a client process frozen (SIGSTOP) and woken (SIGCONT)', () => {
  const cleanup = useCleanup();

  afterAll(() => {
    if (Object.keys(report).length > 0) console.info(`ms from SIGCONT to the verdict:\n${JSON.stringify(report, null, 2)}`);
  });

  function startClient(options: ClientOptions): ClientProcess {
    const client = ClientProcess.start({ host: '127.0.0.1', reconnect: false, ...options });
    cleanup.push(() => client.stop());
    return client;
  }

  async function rawServer(behaviour: ConstructorParameters<typeof RawServer>[0]): Promise<{ raw: RawServer; port: number }> {
    const raw = new RawServer(behaviour);
    const port = await raw.listen();
    cleanup.push(() => raw.close());
    return { raw, port };
  }

  /**
   * Freezes the client for STALL_MS, running `during` meanwhile (the sleep's
   * length is the fault itself, hence the timer), then wakes it. Fails if the
   * client had already reached a verdict before it slept (a machine too loaded
   * for the setup). Returns when it woke and the index of its first line after.
   */
  async function sleepThrough(client: ClientProcess, during: () => Promise<unknown> = async () => undefined): Promise<Woke> {
    await client.freeze();
    const frozenAt = performance.now();
    expect(client.lines.filter(hasError)).toEqual([]);
    await during();
    const left = STALL_MS - (performance.now() - frozenAt);
    if (left > 0) await delay(left);
    const mark = client.lines.length;
    return { wokeAt: client.thaw(), mark };
  }

  /** The client's first error after waking is `code`, within `limitMs` of the wake (recorded under `name`). */
  async function expectVerdict(client: ClientProcess, name: string, woke: Woke, code: string, limitMs = DEADLINE_MS + MARGIN_MS): Promise<void> {
    const line = await client.next(hasError, { after: woke.mark, guardMs: VERDICT_GUARD_MS });
    report[name] = Math.round(line.at - woke.wokeAt);
    expect(line.code).toBe(code);
    expect(line.at - woke.wokeAt).toBeLessThanOrEqual(limitMs);
  }

  /** The client's first `event` after waking, with no error before it (its delay recorded under `name`). */
  async function expectAnswer(client: ClientProcess, name: string, woke: Woke, event: string): Promise<ClientLine> {
    const line = await client.next((l) => l.event === event || hasError(l), { after: woke.mark, guardMs: VERDICT_GUARD_MS });
    report[name] = Math.round(line.at - woke.wokeAt);
    expect(client.lines.filter(hasError)).toEqual([]);
    expect(line.event).toBe(event);
    return line;
  }

  /** Resolves with the server-side socket once `raw` has received a frame of `type`. */
  async function frameAt(raw: RawServer, type: FrameType): Promise<{ socket: net.Socket; payload: Buffer }> {
    const seen = raw.frames.find((f) => f.frame.type === type);
    if (seen) return { socket: seen.socket, payload: seen.frame.payload };
    const [socket, frame] = await waitFor<[net.Socket, { type: number; payload: Buffer }]>(raw.server, 'frame', (_s, f) => f.type === type);
    return { socket, payload: frame.payload };
  }

  /** The child's socket to `port` once everything the server sent it has been read (its receive queue is empty). */
  function drained(client: ClientProcess, port: number): Promise<unknown> {
    return client.waitForSocket(port, (s) => s.state === 'ESTAB' && s.recvQ === 0, 'connected with nothing left to read');
  }

  /** Resolves once the child has sent its SYN to `port` (connect(2) follows the 'connecting' event asynchronously). */
  function connecting(client: ClientProcess, port: number): Promise<unknown> {
    return client.waitForSocket(port, (s) => s.state === 'SYN-SENT', 'connecting');
  }

  /**
   * A SYN black hole on loopback (test/fixtures/syn-gate.ts): the gate's
   * process frozen with its accept queue full. `open()` thaws it: queued
   * connections are accepted and forwarded to `targetPort`.
   */
  async function synBlackHole(targetPort = 0): Promise<{ port: number; open(): void }> {
    const gate: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SYN_GATE, String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    gate.on('error', () => undefined);
    const fillers: net.Socket[] = [];
    cleanup.push(
      () => killAndWait(gate, { signal: 'SIGKILL' }),
      () => fillers.forEach((s) => s.destroy()),
    );
    const [first] = await waitFor<[string]>(createInterface({ input: gate.stdout as NodeJS.ReadableStream }), 'line', undefined, 30_000);
    const { port, backlog } = JSON.parse(first) as { port: number; backlog: number };
    await freezePid(gate.pid as number);
    // Linux queues backlog + 1 connections; each completes its handshake in the kernel.
    for (let i = 0; i <= backlog; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      fillers.push(s);
      await waitFor(s, 'connect');
    }
    return { port, open: () => process.kill(gate.pid as number, 'SIGCONT') };
  }

  describe('connect deadline (SYN black hole)', () => {
    it('a connect into a black hole fails with ERR_CONNECT_TIMEOUT within connectTimeoutMs of waking', async () => {
      const hole = await synBlackHole();
      const client = startClient({ port: hole.port, connectTimeoutMs: DEADLINE_MS });
      await connecting(client, hole.port);
      const woke = await sleepThrough(client, async () => {
        // The kernel drops the SYN and its retransmissions: still SYN-SENT.
        expect((await client.sockets(hole.port)).map((s) => s.state)).toEqual(['SYN-SENT']);
      });
      await expectVerdict(client, 'connect (black hole)', woke, 'ERR_CONNECT_TIMEOUT');
    });

    it('a connect the kernel completed during the sleep is used, not timed out', async () => {
      // The server waits for the sleeper's HELLO longer than the sleep (its default is 10 s).
      const server = new HeartbeatServer({ host: '127.0.0.1', handshakeTimeoutMs: 4 * STALL_MS });
      const { port: serverPort } = await server.listen();
      cleanup.push(() => server.close());
      const hole = await synBlackHole(serverPort);
      const client = startClient({ port: hole.port, connectTimeoutMs: DEADLINE_MS });
      await connecting(client, hole.port);
      const woke = await sleepThrough(client, async () => {
        hole.open();
        // The next SYN retransmission gets in while the client still sleeps.
        await client.waitForSocket(hole.port, (s) => s.state === 'ESTAB', 'connected through the gate');
      });
      expect(await expectAnswer(client, 'connect completed while asleep: open', woke, 'open')).toMatchObject({ attempt: 0 });
    });
  });

  describe('handshake deadline (TCP up, waiting for WELCOME)', () => {
    it('a server that never answers HELLO: ERR_CONNECT_TIMEOUT within connectTimeoutMs of waking', async () => {
      const { raw, port } = await rawServer({ welcome: false });
      const client = startClient({ port, connectTimeoutMs: DEADLINE_MS });
      await frameAt(raw, FrameType.HELLO);
      const woke = await sleepThrough(client);
      await expectVerdict(client, 'handshake (silent server)', woke, 'ERR_CONNECT_TIMEOUT');
    });

    it('a WELCOME sent during the sleep is read: the client opens on the first attempt', async () => {
      const { raw, port } = await rawServer({ welcome: false });
      const client = startClient({ port, connectTimeoutMs: DEADLINE_MS });
      const hello = await frameAt(raw, FrameType.HELLO);
      const woke = await sleepThrough(client, async () => {
        hello.socket.write(welcomeFrame('slept'));
      });
      expect(await expectAnswer(client, 'WELCOME sent while asleep: open', woke, 'open')).toMatchObject({ attempt: 0, sessionId: 'slept' });
    });
  });

  describe('frame deadline (a DATA frame partly in)', () => {
    /**
     * An open client and the server's socket to it, with the first `head` bytes
     * of a DATA frame of `payloadBytes` sent and read: the frame deadline runs.
     */
    async function partlyIn(payloadBytes: number, head: number) {
      // No PONGs: one would land inside the partial frame.
      const { raw, port } = await rawServer({ pong: false });
      const client = startClient({ port, frameTimeoutMs: DEADLINE_MS });
      await client.next((l) => l.event === 'open');
      const { socket } = await frameAt(raw, FrameType.HELLO);
      const frame = encodeData(1, Buffer.alloc(payloadBytes, 0x61));
      socket.write(frame.subarray(0, head));
      await drained(client, port);
      return { client, socket, frame };
    }

    it('a frame trickled one byte at a time: ERR_FRAME_TIMEOUT within frameTimeoutMs of waking', async () => {
      const { client, socket, frame } = await partlyIn(100_000, 20);
      // Then a byte every TRICKLE_EVERY_MS, asleep or not (the kernel queues them).
      let sent = 20;
      const trickle = setInterval(() => socket.write(frame.subarray(sent, ++sent)), TRICKLE_EVERY_MS);
      cleanup.push(() => clearInterval(trickle));
      const woke = await sleepThrough(client);
      await expectVerdict(client, 'frame (trickled)', woke, 'ERR_FRAME_TIMEOUT');
    });

    it('a frame completed during the sleep is delivered, not timed out', async () => {
      const { client, socket, frame } = await partlyIn(1000, 500);
      const woke = await sleepThrough(client, async () => {
        socket.write(frame.subarray(500));
      });
      expect(await expectAnswer(client, 'frame completed while asleep: message', woke, 'message')).toMatchObject({ id: 1, bytes: 1000 });
      // Still open: the next frame arrives too.
      socket.write(encodeData(2, Buffer.from('after')));
      expect(await client.next((l) => l.event === 'message' && l.id === 2)).toMatchObject({ bytes: 5 });
      expect(client.lines.filter(hasError)).toEqual([]);
    });
  });

  describe('heartbeat', () => {
    it('a server gone silent (no FIN): ERR_HEARTBEAT_TIMEOUT within timeoutMs of waking', async () => {
      const timeoutMs = 3000;
      const { port } = await rawServer({ pong: false });
      const client = startClient({ port, heartbeat: { intervalMs: 1000, timeoutMs } });
      await client.next((l) => l.event === 'open');
      const woke = await sleepThrough(client);
      await expectVerdict(client, 'heartbeat (silent server)', woke, 'ERR_HEARTBEAT_TIMEOUT', timeoutMs + MARGIN_MS);
    });

    it('a healthy server, a sleep longer than interval and timeout, its pong sent meanwhile: the link survives and a ping goes out at once on waking', async () => {
      const intervalMs = 4000;
      const { raw, port } = await rawServer({ pong: false });
      const client = startClient({ port, heartbeat: { intervalMs, timeoutMs: 10_000 } });
      await client.next((l) => l.event === 'open');
      const ping = await frameAt(raw, FrameType.PING);
      const pingsBefore = raw.frames.filter((f) => f.frame.type === FrameType.PING).length;
      const pong = (socket: net.Socket, payload: Buffer): boolean => socket.write(encodeFrame(FrameType.PONG, payload));
      const woke = await sleepThrough(client, async () => {
        pong(ping.socket, ping.payload);
      });
      // From now on the server answers every ping at once.
      const firstPingAfter = new Promise<number>((resolve) =>
        raw.server.on('frame', (socket: net.Socket, f: { type: number; payload: Buffer }) => {
          if (f.type !== FrameType.PING) return;
          resolve(performance.now());
          pong(socket, f.payload);
        }),
      );
      // The late pong is read (rtt ≈ the sleep), then the fresh ping's pong (rtt of a loopback round trip).
      const fresh = await client.next((l) => l.event === 'heartbeat' && (l.rttMs as number) < MARGIN_MS, { after: woke.mark, guardMs: VERDICT_GUARD_MS });
      const pingMs = Math.round((await firstPingAfter) - woke.wokeAt);
      report['healthy server: first ping after waking'] = pingMs;
      expect(raw.frames.filter((f) => f.frame.type === FrameType.PING).length).toBeGreaterThan(pingsBefore);
      expect(pingMs).toBeLessThanOrEqual(MARGIN_MS);
      expect(fresh.at - woke.wokeAt).toBeLessThanOrEqual(MARGIN_MS);
      expect(client.lines.slice(woke.mark).some((l) => l.event === 'heartbeat' && (l.rttMs as number) >= STALL_MS - MARGIN_MS)).toBe(true);
      expect(client.lines.filter(hasError)).toEqual([]);
    });
  });
});
