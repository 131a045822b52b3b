/**
 * The server's ACKs (issue 12 item 3): libuv reads a busy socket up to 32
 * times in one poll phase, 64 KiB each; the server acknowledges the first
 * read of a turn at once and all its later reads with one ACK, for the
 * highest id delivered, in the check phase.
 * Two reads in one turn are made here by emitting two `data` events on the
 * accepted socket in one synchronous block, as libuv's read loop does.
 */
import type * as net from 'node:net';
import { FrameType, encodeData, encodeFrame, encodePing, readId } from '../../src/protocol/frames';
import { waitFor } from '../support/events';
import { useServerWithRawClients } from '../support/lifecycle';
import type { RawClient } from '../support/raw-client';

/** The server side of the next accepted connection (the test's window onto what libuv hands the server). */
function nextAccepted(server: unknown): Promise<net.Socket> {
  const listener = (server as { server: net.Server }).server;
  return waitFor<[net.Socket]>(listener, 'connection').then(([s]) => s);
}

function data(from: number, to: number): Buffer {
  const frames: Buffer[] = [];
  for (let id = from; id <= to; id++) frames.push(encodeData(id, Buffer.from(`m${id}`)));
  return Buffer.concat(frames);
}

/** A PING answered: every frame the server wrote before it has arrived. */
async function roundTrip(raw: RawClient): Promise<void> {
  const pongs = raw.frames.filter((f) => f.type === FrameType.PONG).length;
  raw.socket.write(encodePing(FrameType.PING, { seq: 1, sentAt: 0 }));
  while (raw.frames.filter((f) => f.type === FrameType.PONG).length === pongs) await waitFor(raw.socket, 'frame');
}

const acks = (raw: RawClient): number[] => raw.frames.filter((f) => f.type === FrameType.ACK).map((f) => readId(f.payload));

describe('server: ACKs', () => {
  const ctx = useServerWithRawClients({});

  /** A raw client past WELCOME, and the server's end of its connection. */
  async function welcomed(): Promise<{ raw: RawClient; socket: net.Socket }> {
    const accepted = nextAccepted(ctx.server);
    const raw = await ctx.raw();
    const socket = await accepted;
    raw.hello();
    await raw.nextFrame(FrameType.WELCOME);
    return { raw, socket };
  }

  it('three reads in one event-loop turn get two ACKs: the first read at once, the rest together', async () => {
    const { raw, socket } = await welcomed();
    const got: number[] = [];
    ctx.server.on('message', (_s, _p, meta) => got.push(meta.id));
    socket.emit('data', data(1, 3));
    socket.emit('data', data(4, 5));
    socket.emit('data', data(6, 7));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await roundTrip(raw);
    expect(acks(raw)).toEqual([3, 7]);
    // The next turn's first read gets its own ACK; a read delivering nothing (a duplicate) gets none.
    socket.emit('data', data(8, 8));
    await roundTrip(raw);
    socket.emit('data', data(8, 8));
    await roundTrip(raw);
    expect(acks(raw)).toEqual([3, 7, 8]);
  });

  it('a BYE read in the same turn as DATA still acknowledges that DATA before the socket closes', async () => {
    const { raw, socket } = await welcomed();
    socket.emit('data', data(1, 2));
    socket.emit('data', data(3, 4));
    socket.emit('data', encodeFrame(FrameType.BYE, Buffer.from('done')));
    await raw.closed;
    expect(acks(raw)).toEqual([2, 4]);
  });
});
