/**
 * Hostile byte streams against a real HeartbeatServer on 127.0.0.1: random
 * bytes and mutated valid sessions (HELLO, PING, DATA, ACK, BYE), split
 * anywhere and written by raw sockets, several at a time.
 *
 * For every stream a model of the server (below) says which outcomes are
 * allowed: stays open (the stream was valid and complete), closed quietly
 * (the peer said BYE or ERROR), or closed with an ERROR frame of a given
 * code. Meanwhile a well-behaved ResilientClient stays connected and must
 * never notice; afterwards nothing is left open.
 */
import fc from 'fast-check';
import * as net from 'node:net';
import { ResilientClient } from '../../src';
import { ErrorCodes, ResilientError } from '../../src/core/errors';
import { FrameDecoder } from '../../src/protocol/decoder';
import {
  Frame,
  FrameType,
  MAX_HANDSHAKE_FRAME_BYTES,
  PROTOCOL_VERSION,
  decodeErrorPayload,
  decodeHello,
  decodePing,
  encodeAck,
  encodeData,
  encodeFrame,
  encodeJson,
  encodePing,
  readId,
} from '../../src/protocol/frames';
import { HeartbeatServer } from '../../src/server';
import { record, waitFor } from '../support/events';
import { RawClient } from '../support/raw-client';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';
import { cutsArb, forgedLengths, mutate, mutationArb, streamOf, type Stream } from '../support/mutations';
import { splitAt } from '../support/split';
import { useServerWithRawClients } from '../support/lifecycle';

const splitAtNonEmpty = (buf: Buffer, cuts: number[]): Buffer[] => splitAt(buf, cuts, { keepEmpty: false });

const MAX_FRAME = 64 * 1024;
const HS = MAX_HANDSHAKE_FRAME_BYTES;
/** Stalled streams (mid-frame, or no HELLO) are closed after this long: short, so a run stays quick. */
const STALL_TIMEOUT_MS = 200;
const DOCUMENTED = new Set<string>(Object.values(ErrorCodes));
const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

// ---------------------------------------------------------------------------
// The model: which outcomes the server may produce for a byte stream.
//
// Two things the wire cannot pin down make it a set, not one outcome:
// - The decoder's bound is the handshake bound (8 KiB) until the push after
//   the one that carried HELLO; frames pipelined behind HELLO in the same
//   read are held to 8 KiB, later ones to maxFrameBytes.
// - One read is decoded whole before its frames are handled, so a framing
//   error later in the stream can pre-empt an earlier frame's verdict (a bad
//   PING, a BYE) if both arrive in one read.

type Outcome = 'open' | 'quiet' | string; // string: the ERROR frame's code

type Next =
  | { kind: 'frame'; type: number; payload: Buffer; end: number }
  | { kind: 'fail'; code: string }
  | { kind: 'end'; boundary: boolean };

function nextFrame(b: Buffer, pos: number, bound: number): Next {
  if (b.length - pos < 4) return { kind: 'end', boundary: pos === b.length };
  const len = b.readUInt32BE(pos);
  if (len > bound) return { kind: 'fail', code: 'ERR_FRAME_TOO_LARGE' };
  if (len === 0) return { kind: 'fail', code: 'ERR_PROTOCOL' };
  if (b.length - pos - 4 < len) return { kind: 'end', boundary: false };
  const type = b[pos + 4] as number;
  if (!KNOWN_TYPES.has(type)) return { kind: 'fail', code: 'ERR_PROTOCOL' };
  return { kind: 'frame', type, payload: b.subarray(pos + 5, pos + 4 + len), end: pos + 4 + len };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as ResilientError).code;
  }
}

/** The verdict on one frame: undefined to go on, else how the connection ends. */
function judge(phase: 'hello' | 'open', f: { type: number; payload: Buffer }): Outcome | undefined {
  if (phase === 'hello') return f.type === FrameType.HELLO ? codeOf(() => decodeHello(f.payload)) : 'ERR_PROTOCOL';
  switch (f.type) {
    case FrameType.PING:
      return codeOf(() => decodePing(f.payload));
    case FrameType.DATA:
      return codeOf(() => readId(f.payload));
    case FrameType.ACK:
      // The server writes nothing to a fuzzed session: an ACK above 0 acknowledges an id never written.
      return codeOf(() => readId(f.payload)) ?? (readId(f.payload) > 0 ? 'ERR_PROTOCOL' : undefined);
    case FrameType.BYE:
    case FrameType.ERROR:
      return 'quiet';
    default:
      return 'ERR_PROTOCOL';
  }
}

/** One run of the model where frames from index `k` on are read after the HELLO's read. */
function simulate(b: Buffer, k: number, out: Set<Outcome>): number {
  let pos = 0;
  let idx = 0;
  let phase: 'hello' | 'open' = 'hello';
  const bound = (i: number): number => (phase === 'open' && i >= k ? MAX_FRAME : HS);
  for (;;) {
    const r = nextFrame(b, pos, bound(idx));
    if (r.kind === 'fail') {
      out.add(r.code);
      return idx + 1;
    }
    if (r.kind === 'end') {
      if (phase === 'open' && r.boundary) out.add('open');
      else out.add('ERR_HANDSHAKE_TIMEOUT').add('ERR_FRAME_TIMEOUT');
      return idx + 1;
    }
    const verdict = judge(phase, r);
    if (verdict !== undefined) {
      out.add(verdict);
      // A framing error further on, read in the same chunk, is thrown first.
      for (let p = r.end, i = idx + 1; ; i++) {
        const later = nextFrame(b, p, bound(i));
        if (later.kind === 'fail') out.add(later.code);
        if (later.kind !== 'frame') break;
        p = later.end;
      }
      return idx + 1;
    }
    if (phase === 'hello') phase = 'open';
    pos = r.end;
    idx++;
  }
}

function allowedOutcomes(b: Buffer): Set<Outcome> {
  const out = new Set<Outcome>();
  const frames = simulate(b, Infinity, out);
  for (let k = 1; k <= frames; k++) simulate(b, k, out);
  return out;
}

// ---------------------------------------------------------------------------
// Streams

const helloArb = fc
  .record({
    clientId: fc.string({ minLength: 1, maxLength: 16 }),
    heartbeatMs: fc.nat(10_000),
    token: fc.option(fc.string({ maxLength: 24 }), { nil: undefined }),
    lastSeen: fc.option(fc.nat(100), { nil: undefined }),
  })
  .map((h) => encodeJson(FrameType.HELLO, { v: PROTOCOL_VERSION, ...h }));

const bodyFrameArb = fc.oneof(
  fc.record({ seq: fc.nat(), sentAt: fc.double(), rttMs: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true }), { nil: undefined }) }).map((p) => encodePing(FrameType.PING, p)),
  fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.uint8Array({ maxLength: 200 })).map(([id, p]) => encodeData(id, p)),
  // Mostly ACK 0 (the only honest ACK: the server writes nothing to these sessions), sometimes a forged one.
  fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000 }) }).map((id) => encodeAck(id)),
);
const byeArb = fc.string({ maxLength: 20 }).map((r) => encodeFrame(FrameType.BYE, Buffer.from(r, 'utf8')));

/** HELLO, then pings, data and acks, sometimes a BYE. */
const sessionArb: fc.Arbitrary<Stream> = fc
  .tuple(helloArb, fc.array(bodyFrameArb, { maxLength: 10 }), fc.option(byeArb, { nil: undefined }))
  .map(([hello, body, bye]) => streamOf([hello, ...body, ...(bye ? [bye] : [])]));

const mutations = mutationArb(forgedLengths(HS, MAX_FRAME));

const streamArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 2, arbitrary: sessionArb.map((s) => s.bytes) },
  { weight: 5, arbitrary: fc.tuple(sessionArb, fc.array(mutations, { minLength: 1, maxLength: 3 })).map(([s, m]) => mutate(s, m)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'SSH-2.0-OpenSSH_9.6\r\n', '\x16\x03\x01\x02\x00\x01\x00'), sessionArb).map(([junk, s]) =>
      Buffer.concat([Buffer.from(junk, 'latin1'), s.bytes]),
    ),
  },
);

/** A stream and where it is cut into writes. */
const caseArb = fc.tuple(streamArb, cutsArb(12));


// ---------------------------------------------------------------------------
// Driving one raw connection

const PROBE = { seq: 0xc0ffee, sentAt: 42.5 };
const GUARD_MS = 5000;

interface Observed {
  outcome: Outcome;
  frames: number[];
}

class Peer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  closed = false;
  ended = false;
  writeError: string | undefined;
  private readonly decoder = new FrameDecoder(1 << 20);
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', (err: NodeJS.ErrnoException) => (this.writeError ??= err.code ?? err.message));
    this.socket.on('data', (chunk: Buffer) => {
      // Whatever the server writes must itself be well-formed.
      for (const f of this.decoder.push(chunk)) this.frames.push(f);
      this.wake();
    });
    this.socket.on('end', () => ((this.ended = true), this.wake()));
    this.socket.on('close', () => ((this.closed = true), this.wake()));
  }

  get errorCode(): string | undefined {
    const f = this.frames.find((x) => x.type === FrameType.ERROR);
    return f ? decodeErrorPayload(f.payload).code : undefined;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when cond() holds, re-checked on every socket event; fails after the guard. */
  until(cond: () => boolean, what: string): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${GUARD_MS} ms`)), GUARD_MS);
      const check = (): void => {
        if (!cond()) return void this.waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  /** Writes the parts one read apart; stops once the server has given its verdict. */
  async write(parts: Buffer[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    for (const part of parts) {
      if (this.closed || this.ended || this.errorCode !== undefined) return;
      await new Promise<void>((resolve) => this.socket.write(part, () => resolve()));
      await new Promise((r) => setImmediate(r));
    }
  }

  isProbeAnswered(): boolean {
    return this.frames.some((f) => f.type === FrameType.PONG && f.payload.length === 12 && decodePing(f.payload).seq === PROBE.seq);
  }
}

async function drive(port: number, bytes: Buffer, cuts: number[], allowed: Set<Outcome>): Promise<Observed> {
  const peer = new Peer(port);
  try {
    await peer.write(splitAtNonEmpty(bytes, cuts));
    if (allowed.has('open') && !peer.closed) {
      // Still open is allowed: prove it answers, then leave politely.
      peer.socket.write(encodePing(FrameType.PING, PROBE));
      await peer.until(() => peer.closed || peer.isProbeAnswered(), 'PONG to the probe, nor close');
    }
    if (peer.isProbeAnswered() && !peer.closed) {
      peer.socket.write(encodeFrame(FrameType.BYE, Buffer.from('done')));
      await peer.until(() => peer.closed, 'close after our BYE');
      return { outcome: peer.errorCode ?? 'open', frames: peer.frames.map((f) => f.type) };
    }
    await peer.until(() => peer.closed, 'close of a connection the model says must end');
    const code = peer.errorCode;
    if (code === undefined && peer.writeError) {
      throw new Error(`closed without an ERROR frame after our write failed (${peer.writeError}): stream ${bytes.toString('hex')}`);
    }
    return { outcome: code ?? 'quiet', frames: peer.frames.map((f) => f.type) };
  } catch (err) {
    const seen = peer.frames.map((f) => f.type).join(',');
    throw new Error(`${(err as Error).message}; stream ${bytes.toString('hex')} cut at ${cuts.join(',')}; model allows ${[...allowed].join(' | ')}; server sent frames [${seen}]`);
  } finally {
    peer.socket.destroy();
  }
}

// ---------------------------------------------------------------------------

describe('HeartbeatServer under fuzzed byte streams', () => {
  it('every bad connection is closed with a documented ERROR code, valid ones stay open, the server and a live client are unharmed', async () => {
    const before = resourceSnapshot();
    // While a test runs, jest-circus puts its own uncaughtException /
    // unhandledRejection handlers first and fails the test with the error
    // (checked: a throw in setImmediate and a bare rejected promise both fail
    // it); these listeners catch anything that lands outside that window.
    const crashes: unknown[] = [];
    const onCrash = (err: unknown): void => void crashes.push(err);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    const server = new HeartbeatServer({
      host: '127.0.0.1',
      maxFrameBytes: MAX_FRAME,
      handshakeTimeoutMs: STALL_TIMEOUT_MS,
      frameTimeoutMs: STALL_TIMEOUT_MS,
      idleTimeoutMs: 3000,
      sessionTtlMs: 1000,
    });
    const received: string[] = [];
    const serverErrors: string[] = [];
    server.on('error', (err) => serverErrors.push(err.code));
    let client: ResilientClient | undefined;
    try {
      const { port } = await server.listen();
      server.on('message', (s, payload) => s.clientId === 'well-behaved' && received.push(payload.toString()));
      client = new ResilientClient({ host: '127.0.0.1', port, clientId: 'well-behaved', heartbeat: { intervalMs: 200, timeoutMs: 2000 } });
      await client.connect();
      const closes = record(client, 'close');
      const seen = new Map<string, number>();

      await fc.assert(
        fc.asyncProperty(fc.array(caseArb, { minLength: 1, maxLength: 8 }), async (cases) => {
          // Several connections at once, and the live client keeps talking meanwhile.
          const chatter = client!.send(`during ${seen.size}`);
          const results = await Promise.all(
            cases.map(async ([bytes, cuts]) => {
              const allowed = allowedOutcomes(bytes);
              const got = await drive(port, bytes, cuts, allowed);
              return { bytes, allowed, got };
            }),
          );
          await chatter;
          for (const { bytes, allowed, got } of results) {
            seen.set(got.outcome, (seen.get(got.outcome) ?? 0) + 1);
            if (got.outcome !== 'open' && got.outcome !== 'quiet') expect(DOCUMENTED).toContain(got.outcome);
            if (!allowed.has(got.outcome)) {
              throw new Error(`stream ${bytes.toString('hex')}: got ${got.outcome} (frames ${got.frames.join(',')}), model allows ${[...allowed].join(' | ')}`);
            }
            // A connection never gets both: an ERROR frame ends it.
            if (got.outcome === 'open') expect(got.frames).not.toContain(FrameType.ERROR);
          }
        }),
        // No shrinking: a failing stream is printed whole, and each shrink step may wait out a guard.
        { numRuns: 40, endOnFailure: true },
      );

      // The run exercised the paths it is meant to.
      for (const o of ['open', 'quiet', 'ERR_FRAME_TOO_LARGE', 'ERR_PROTOCOL']) expect(seen.get(o) ?? 0).toBeGreaterThan(0);
      expect((seen.get('ERR_FRAME_TIMEOUT') ?? 0) + (seen.get('ERR_HANDSHAKE_TIMEOUT') ?? 0)).toBeGreaterThan(0);

      // The live client never lost its connection and still round-trips.
      expect(closes).toEqual([]);
      expect(client.state).toBe('open');
      const after = Array.from({ length: 20 }, (_, i) => `after ${i}`);
      await Promise.all(after.map((m) => client!.send(m)));
      expect(received.slice(-20)).toEqual(after);
      expect(server.connections().filter((c) => c.clientId === 'well-behaved')).toHaveLength(1);
      // The server's own 'error' events carry documented codes or OS errno names only.
      expect(serverErrors.filter((c) => !DOCUMENTED.has(c) && !/^E[A-Z]+$/.test(c))).toEqual([]);
      expect(crashes).toEqual([]);
    } finally {
      await client?.close();
      await server.close();
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
    expect(server.socketCount).toBe(0);
    await expectResourcesBackTo(before);
  }, 60_000);
});

/** Resolves when the peer is closed; rejects after guardMs (the behaviour under test is broken). */
function closedWithin(peer: RawClient, guardMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not closed within ${guardMs} ms`)), guardMs);
  });
  return Promise.race([peer.closed, guard]).finally(() => clearTimeout(timer));
}

// Counterexamples the fuzzer found, pinned as plain tests.
describe('HeartbeatServer: regressions found by the fuzzer', () => {
  const rig = useServerWithRawClients({ handshakeTimeoutMs: STALL_TIMEOUT_MS, frameTimeoutMs: STALL_TIMEOUT_MS, idleTimeoutMs: 5000 });
  const raw = rig.raw;
  const open = async (clientId: string): Promise<RawClient> => {
    const r = await raw();
    r.hello({ clientId });
    await r.nextFrame(FrameType.WELCOME);
    return r;
  };

  it('a peer that never sends HELLO is closed after handshakeTimeoutMs even when an open connection closed meanwhile', async () => {
    const silent = await raw();
    const leaving = await open('leaving');
    const gone = waitFor(rig.server, 'disconnect');
    leaving.destroy();
    await gone;
    await closedWithin(silent, 2000, 'the silent peer');
    expect(silent.errorCode()).toBe('ERR_HANDSHAKE_TIMEOUT');
  });

  it('an open connection closing does not get another open connection closed with ERR_HANDSHAKE_TIMEOUT', async () => {
    const leaving = await open('leaving');
    // Pings every 1000 ms: silent for longer than handshakeTimeoutMs (200), far less than idleTimeoutMs (5000).
    const staying = new ResilientClient({ host: '127.0.0.1', port: rig.port, clientId: 'staying', heartbeat: { intervalMs: 1000, timeoutMs: 4000 } });
    try {
      await staying.connect();
      const closes = record<[{ error?: ResilientError }]>(staying, 'close');
      const gone = waitFor(rig.server, 'disconnect');
      leaving.destroy();
      await gone;
      await waitFor(staying, 'heartbeat'); // its first pong, ~1000 ms after open
      expect(closes.map(([c]) => c.error?.code)).toEqual([]);
      expect(rig.server.connections().map((c) => c.clientId)).toEqual(['staying']);
    } finally {
      await staying.close();
    }
  });

  it('a frame of which only the 4 length bytes arrived is closed with ERR_FRAME_TIMEOUT after frameTimeoutMs, not left to the idle timeout', async () => {
    const r = await open('slow');
    r.socket.write(Buffer.from([0, 0, 0, 9]));
    await closedWithin(r, 2000, 'a connection holding a partial frame');
    expect(r.errorCode()).toBe('ERR_FRAME_TIMEOUT');
  });
});
