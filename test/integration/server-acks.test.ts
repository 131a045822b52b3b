/**
 * The server's ACKs (issue 12 item 3): libuv reads a busy socket up to 32
 * times in one poll phase, 64 KiB each; the server acknowledges the first
 * read of a turn at once and all its later reads with one ACK, for the
 * highest id delivered, in the check phase.
 * Two reads in one turn are made here by emitting two `data` events on the
 * accepted socket in one synchronous block, as libuv's read loop does.
 */
import { FrameType, encodeFrame } from '../../src/protocol/frames';
import { useServerWithRawClients } from '../support/lifecycle';
import { acksOf, dataFrames, roundTrip, welcomedRaw } from '../support/server-reads';

describe('server: ACKs', () => {
  const ctx = useServerWithRawClients({});
  const welcomed = (): ReturnType<typeof welcomedRaw> => welcomedRaw(ctx.server, () => ctx.raw());

  it('three reads in one event-loop turn get two ACKs: the first read at once, the rest together', async () => {
    const { raw, socket } = await welcomed();
    const got: number[] = [];
    ctx.server.on('message', (_s, _p, meta) => got.push(meta.id));
    socket.emit('data', dataFrames(1, 3));
    socket.emit('data', dataFrames(4, 5));
    socket.emit('data', dataFrames(6, 7));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await roundTrip(raw);
    expect(acksOf(raw)).toEqual([3, 7]);
    // The next turn's first read gets its own ACK; a read delivering nothing (a duplicate) gets none.
    socket.emit('data', dataFrames(8, 8));
    await roundTrip(raw);
    socket.emit('data', dataFrames(8, 8));
    await roundTrip(raw);
    expect(acksOf(raw)).toEqual([3, 7, 8]);
  });

  it('a BYE read in the same turn as DATA still acknowledges that DATA before the socket closes', async () => {
    const { raw, socket } = await welcomed();
    socket.emit('data', dataFrames(1, 2));
    socket.emit('data', dataFrames(3, 4));
    socket.emit('data', encodeFrame(FrameType.BYE, Buffer.from('done')));
    await raw.closed;
    expect(acksOf(raw)).toEqual([2, 4]);
  });
});
