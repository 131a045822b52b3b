/**
 * The native protocol's endpoint (src/protocol/peer.ts) with no socket: bytes
 * are fed in, frames written to an in-memory sink are decoded and checked,
 * as ws tests its Receiver. Both roles, every phase.
 */
import fc from 'fast-check';
import { InboundTracker, OutboundWindow, QUEUE_DEFAULTS } from '../../src/core/delivery';
import { ResilientError } from '../../src/core/errors';
import { FrameDecoder } from '../../src/protocol/decoder';
import {
  Frame,
  FrameType,
  PROTOCOL_VERSION,
  Welcome,
  decodeErrorPayload,
  encodeAck,
  encodeData,
  encodeFrame,
  encodeJson,
  encodePing,
  readId,
  DATA_HEADER_BYTES,
} from '../../src/protocol/frames';
import { NativePeer, PeerEvents, Role, agreedHeartbeat, grantedHeartbeatMs, payloadLimit, pump } from '../../src/protocol/peer';
import { splitAt } from '../support/split';

const HELLO = { v: PROTOCOL_VERSION, clientId: 'c1', heartbeatMs: 1000, maxFrameBytes: 4096 };
const WELCOME: Welcome = { sessionId: 's1', heartbeatMs: 1000, idleTimeoutMs: 3000, maxFrameBytes: 1024, acked: 0, resumed: false };

/** A sink that records what the endpoint wrote, decoded back into frames. */
class Sink {
  blocked = false;
  room = Infinity;
  readonly frames: Frame[] = [];
  private readonly decoder = new FrameDecoder(1 << 20);
  write(frame: Buffer): void {
    // A small frame is the sink's to copy (FrameSink.write): the peer reuses its PING/PONG buffer.
    this.frames.push(...this.decoder.push(Buffer.from(frame)));
  }
  writeData(id: number, payload: Buffer): void {
    this.write(encodeData(id, payload));
  }
  types(): number[] {
    return this.frames.map((f) => f.type);
  }
}

type Seen = Array<[string, ...unknown[]]>;

/** An endpoint recording its events; `then` runs after each event is recorded (the owner's reaction). */
function endpoint(role: Role, maxFrameBytes = 1 << 16, then: Partial<PeerEvents> = {}): { peer: NativePeer; sink: Sink; seen: Seen } {
  const sink = new Sink();
  const seen: Seen = [];
  const events: PeerEvents = {
    hello: (h) => {
      seen.push(['hello', h.clientId]);
      then.hello?.(h);
    },
    welcome: (w) => seen.push(['welcome', w.sessionId]),
    data: (id, buf, start, end) => {
      seen.push(['data', id, buf.toString('utf8', start, end)]);
      then.data?.(id, buf, start, end);
    },
    ack: (id) => seen.push(['ack', id]),
    ping: (p) => seen.push(['ping', p.seq]),
    bye: (reason) => seen.push(['bye', reason]),
    error: (code, message) => seen.push(['error', code, message]),
  };
  return { peer: new NativePeer(role, maxFrameBytes, sink, events), sink, seen };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ResilientError);
    return (err as ResilientError).code;
  }
}

const ping = (seq: number): Buffer => encodePing(FrameType.PING, { seq, sentAt: 1 });

describe('the server endpoint', () => {
  function opened(): ReturnType<typeof endpoint> & { inbound: InboundTracker } {
    const e = endpoint('server');
    e.peer.push(encodeJson(FrameType.HELLO, HELLO));
    const inbound = new InboundTracker();
    e.peer.accept(WELCOME, inbound, HELLO.maxFrameBytes);
    return { ...e, inbound };
  }

  it('reports a HELLO, waits in auth, and opens with WELCOME', () => {
    const { peer, sink, seen } = endpoint('server');
    expect(peer.push(encodeJson(FrameType.HELLO, HELLO))).toBe('none');
    expect(seen).toEqual([['hello', 'c1']]);
    expect(peer.phase).toBe('auth');
    peer.accept(WELCOME, new InboundTracker(), HELLO.maxFrameBytes);
    expect(peer.phase).toBe('open');
    expect(sink.types()).toEqual([FrameType.WELCOME]);
  });

  it('anything but HELLO first, or any frame while authenticating, is ERR_PROTOCOL', () => {
    expect(codeOf(() => endpoint('server').peer.push(ping(1)))).toBe('ERR_PROTOCOL');
    expect(codeOf(() => endpoint('server').peer.push(encodeFrame(FrameType.BYE)))).toBe('ERR_PROTOCOL');
    const { peer } = endpoint('server');
    peer.push(encodeJson(FrameType.HELLO, HELLO));
    expect(codeOf(() => peer.push(ping(1)))).toBe('ERR_PROTOCOL');
  });

  it('bounds frames before authentication at 8 KiB, then at its own limit', () => {
    const big = encodeJson(FrameType.HELLO, { ...HELLO, token: 'x'.repeat(9000) });
    expect(codeOf(() => endpoint('server').peer.push(big))).toBe('ERR_FRAME_TOO_LARGE');
    const { peer } = opened();
    expect(codeOf(() => peer.push(encodeData(1, Buffer.alloc(20_000))))).toBeUndefined();
  });

  it('answers a PING with a PONG echoing it, and acknowledges once per chunk the highest id delivered', () => {
    const inbound = new InboundTracker();
    // The owner decides what is delivered (duplicates are not), as the data arrives.
    const { peer, sink } = endpoint('server', 1 << 16, { data: (id) => void inbound.accept(id) });
    peer.push(encodeJson(FrameType.HELLO, HELLO));
    peer.accept(WELCOME, inbound, HELLO.maxFrameBytes);
    const chunk = Buffer.concat([ping(7), encodeData(1, Buffer.from('a')), encodeData(2, Buffer.from('b'))]);
    peer.push(chunk.subarray(0, 10));
    peer.push(chunk.subarray(10));
    expect(inbound.lastDelivered).toBe(2);
    const pong = sink.frames.find((f) => f.type === FrameType.PONG);
    expect(pong?.payload).toEqual(ping(7).subarray(5));
    // Acks come after the chunk that delivered: the PONG is answered inside the chunk.
    expect(sink.types().slice(1)).toEqual([FrameType.PONG, FrameType.ACK]);
    expect(readId(sink.frames[2]!.payload)).toBe(2);
  });

  it('with ackEachChunk off, acknowledges only on flushAck(): one ACK for every chunk before it', () => {
    const inbound = new InboundTracker();
    const { peer, sink } = endpoint('server', 1 << 16, { data: (id) => void inbound.accept(id) });
    peer.ackEachChunk = false;
    peer.push(encodeJson(FrameType.HELLO, HELLO));
    peer.accept(WELCOME, inbound, HELLO.maxFrameBytes);
    for (let id = 1; id <= 3; id++) peer.push(encodeData(id, Buffer.from('x')));
    expect(sink.types()).toEqual([FrameType.WELCOME]);
    expect(inbound.ackDue).toBe(true);
    peer.flushAck();
    peer.flushAck();
    expect(sink.types()).toEqual([FrameType.WELCOME, FrameType.ACK]);
    expect(readId(sink.frames[1]!.payload)).toBe(3);
    expect(inbound.ackDue).toBe(false);
    // Nothing is written once stopped.
    peer.push(encodeData(4, Buffer.from('y')));
    peer.stop();
    peer.flushAck();
    expect(sink.frames).toHaveLength(2);
  });

  it('a DATA frame too short for its id is ERR_PROTOCOL even with more frames behind it in the chunk', () => {
    const { peer, seen } = opened();
    seen.length = 0;
    // Type + 3 bytes of id, then a whole DATA frame: the short id must not be read into the next frame.
    const short = encodeFrame(FrameType.DATA, Buffer.from([0, 0, 0]));
    expect(codeOf(() => peer.push(Buffer.concat([short, encodeData(1, Buffer.from('next'))])))).toBe('ERR_PROTOCOL');
    expect(seen).toEqual([]);
  });

  it("a client's BYE and ERROR are reported; a PONG or WELCOME from a client is ERR_PROTOCOL", () => {
    const a = opened();
    a.seen.length = 0;
    a.peer.push(Buffer.concat([encodeFrame(FrameType.BYE, Buffer.from('done')), encodeFrame(FrameType.ERROR, Buffer.from('{bad'))]));
    expect(a.seen).toEqual([['bye', 'done'], ['error', undefined, '{bad']]);
    expect(codeOf(() => opened().peer.push(encodePing(FrameType.PONG, { seq: 1, sentAt: 1 })))).toBe('ERR_PROTOCOL');
    expect(codeOf(() => opened().peer.push(encodeJson(FrameType.WELCOME, WELCOME)))).toBe('ERR_PROTOCOL');
  });

  it('stop() in a handler stops decoding the rest of the chunk', () => {
    const sink = new Sink();
    const seen: number[] = [];
    const peer: NativePeer = new NativePeer('server', 1 << 16, sink, {
      hello: () => undefined,
      data: (id) => {
        seen.push(id);
        peer.stop();
      },
      ack: () => undefined,
      ping: () => undefined,
      bye: () => undefined,
      error: () => undefined,
    });
    peer.push(encodeJson(FrameType.HELLO, HELLO));
    peer.accept(WELCOME, new InboundTracker(), undefined);
    expect(peer.push(Buffer.concat([encodeData(1, Buffer.from('a')), encodeData(2, Buffer.from('b'))]))).toBe('none');
    expect(seen).toEqual([1]);
  });
});

describe('the client endpoint', () => {
  it('reads WELCOME and the frames queued behind it in one chunk', () => {
    const { peer, seen } = endpoint('client');
    peer.track(new InboundTracker());
    peer.push(Buffer.concat([encodeJson(FrameType.WELCOME, WELCOME), encodeData(1, Buffer.from('x')), encodeAck(4)]));
    expect(seen).toEqual([['welcome', 's1'], ['data', 1, 'x'], ['ack', 4]]);
    expect(peer.phase).toBe('open');
  });

  it('before WELCOME accepts ERROR (a refused HELLO) and BYE; DATA or a second WELCOME is ERR_PROTOCOL', () => {
    const a = endpoint('client');
    a.peer.push(encodeJson(FrameType.ERROR, { code: 'ERR_AUTH', message: 'no' }));
    expect(a.seen).toEqual([['error', 'ERR_AUTH', 'no']]);
    expect(codeOf(() => endpoint('client').peer.push(encodeData(1, Buffer.from('x'))))).toBe('ERR_PROTOCOL');
    const b = endpoint('client');
    b.peer.push(encodeJson(FrameType.WELCOME, WELCOME));
    expect(codeOf(() => b.peer.push(encodeJson(FrameType.WELCOME, WELCOME)))).toBe('ERR_PROTOCOL');
    expect(codeOf(() => endpoint('client').peer.push(encodeJson(FrameType.ERROR, { nope: 1 }).subarray(0, 7)))).toBeUndefined();
  });

  it('a PING from the server is ERR_PROTOCOL; a PONG is reported with its seq', () => {
    const a = endpoint('client');
    a.peer.push(encodeJson(FrameType.WELCOME, WELCOME));
    expect(codeOf(() => a.peer.push(ping(1)))).toBe('ERR_PROTOCOL');
    const b = endpoint('client');
    b.peer.push(encodeJson(FrameType.WELCOME, WELCOME));
    b.peer.push(encodePing(FrameType.PONG, { seq: 9, sentAt: 1 }));
    expect(b.seen.at(-1)).toEqual(['ping', 9]);
  });

  it('the payload limit is the smaller of both frame limits, less the type byte and the id', () => {
    const { peer } = endpoint('client', 4096);
    expect(peer.payloadLimit()).toBe(payloadLimit(4096));
    peer.push(encodeJson(FrameType.WELCOME, WELCOME));
    expect(peer.payloadLimit()).toBe(1024 - 1 - 8);
  });
});

describe('partial frames (for the frame timeout)', () => {
  it('started when a frame begins and is not complete, continuing while it is, done when it completes', () => {
    const { peer } = endpoint('client');
    const welcome = encodeJson(FrameType.WELCOME, WELCOME);
    const data = encodeData(1, Buffer.alloc(100));
    expect(peer.push(welcome)).toBe('none');
    expect(peer.push(data.subarray(0, 10))).toBe('started');
    expect(peer.push(data.subarray(10, 50))).toBe('continuing');
    // The frame completes and the next one begins in the same chunk: a new frame started.
    expect(peer.push(Buffer.concat([data.subarray(50), data.subarray(0, 3)]))).toBe('started');
    expect(peer.push(data.subarray(3))).toBe('done');
  });

  it('property: any split of a session decodes to the same events on both roles', () => {
    const dataArb = fc.array(fc.string({ maxLength: 40 }), { maxLength: 20 });
    fc.assert(
      fc.property(dataArb, fc.array(fc.nat(), { maxLength: 30 }), (texts, cuts) => {
        const frames = texts.map((t, i) => encodeData(i + 1, Buffer.from(t)));
        const server = Buffer.concat([encodeJson(FrameType.HELLO, HELLO), ...frames]);
        const client = Buffer.concat([encodeJson(FrameType.WELCOME, WELCOME), ...frames]);
        for (const [role, stream] of [['server', server], ['client', client]] as const) {
          const make = (): ReturnType<typeof endpoint> => {
            const e: ReturnType<typeof endpoint> = endpoint(role, 1 << 16, { hello: () => e.peer.accept(WELCOME, new InboundTracker(), undefined) });
            return e;
          };
          const whole = make();
          const split = make();
          whole.peer.push(stream);
          for (const part of splitAt(stream, cuts)) split.peer.push(part);
          expect(split.seen).toEqual(whole.seen);
        }
      }),
    );
  });
});

describe('shared rules', () => {
  it('pump writes while the sink takes messages and rejects one over the limit without sending it', async () => {
    const w = new OutboundWindow(QUEUE_DEFAULTS);
    const settled: string[] = [];
    for (const size of [10, 2000, 10]) {
      w.enqueue(Buffer.alloc(size), Infinity, () => settled.push(`ok ${size}`), (e) => settled.push(`${e.code} ${size}`));
    }
    const sent: number[] = [];
    pump(w, { room: Infinity, sendMessage: (id) => sent.push(id) }, 1000);
    expect(sent).toEqual([1, 3]);
    await Promise.resolve();
    expect(settled).toEqual(['ERR_FRAME_TOO_LARGE 2000']);
    const blocked = new OutboundWindow(QUEUE_DEFAULTS);
    blocked.enqueue(Buffer.alloc(1), Infinity, () => {}, () => {});
    pump(blocked, { room: 0, sendMessage: () => sent.push(-1) }, 1000);
    expect(sent).toEqual([1, 3]);
  });

  it("pump reads the sink's room once per run of messages and stops where a check before each message would", () => {
    const w = new OutboundWindow(QUEUE_DEFAULTS);
    for (let i = 0; i < 10; i++) w.enqueue(Buffer.alloc(10), Infinity, () => {}, () => {});
    let used = 0;
    let reads = 0;
    const sink = {
      get room(): number {
        reads++;
        return 60 - used;
      },
      sendMessage: (_id: number, p: Buffer) => void (used += DATA_HEADER_BYTES + p.length),
    };
    pump(w, sink, 1000);
    // 23 bytes per message: room 60, 37, 14, then -9: three messages, and the room read at the start and once the run's count ran out.
    expect(w.inFlight).toBe(3);
    expect(reads).toBe(2);
    // Room given back (a flush into the kernel): the next run goes on from there.
    used = 0;
    pump(w, sink, 1000);
    expect(w.inFlight).toBe(6);
  });

  it('heartbeat negotiation: the server may only shorten the interval; with heartbeat off the client still pings at its rate', () => {
    expect(agreedHeartbeat({ intervalMs: 5000, timeoutMs: 15000 }, 1000)).toEqual({ intervalMs: 1000, timeoutMs: 15000 });
    expect(agreedHeartbeat({ intervalMs: 500, timeoutMs: 1500 }, 1000)).toEqual({ intervalMs: 500, timeoutMs: 1500 });
    expect(agreedHeartbeat({ intervalMs: 500, timeoutMs: 1500 }, 0)).toEqual({ intervalMs: 500, timeoutMs: 1500 });
    expect(agreedHeartbeat(false, 1000)).toEqual({ intervalMs: 1000, timeoutMs: Infinity });
    expect(agreedHeartbeat(false, 0)).toBeUndefined();
    expect(grantedHeartbeatMs(0, 10_000)).toBe(10_000);
    expect(grantedHeartbeatMs(500, 10_000)).toBe(500);
    expect(grantedHeartbeatMs(50_000, 10_000)).toBe(10_000);
  });

  it('an ERROR from the server carries its code to the client', () => {
    const payload = encodeJson(FrameType.ERROR, { code: 'ERR_SERVER_FULL', message: 'full' });
    expect(decodeErrorPayload(payload.subarray(5))).toEqual({ code: 'ERR_SERVER_FULL', message: 'full' });
    const { peer, seen } = endpoint('client');
    peer.push(payload);
    expect(seen).toEqual([['error', 'ERR_SERVER_FULL', 'full']]);
  });
});
