/**
 * The client's frame timeout: a server that trickles a frame byte by byte is
 * never silent (the heartbeat counts bytes) but delivers nothing, and a PONG
 * queued behind the frame never arrives. Once a frame has been partial for
 * frameTimeoutMs the client gives the link up (ERR_FRAME_TIMEOUT) and
 * reconnects; a stream of frames that each complete in time is never cut.
 */
import type { Socket } from 'node:net';
import { ResilientClient, ResilientError } from '../../src';
import { encodeData } from '../../src/protocol/frames';
import { record, waitFor } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { RawServer } from '../support/raw-server';

/** Writes `bytes` to `socket` `step` bytes at a time, one write every `everyMs`; returns a stop function. */
function trickle(socket: Socket, bytes: Buffer, step: number, everyMs: number): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= bytes.length || socket.destroyed) return clearInterval(timer);
    socket.write(bytes.subarray(at, at + step));
    at += step;
  }, everyMs);
  return () => clearInterval(timer);
}

describe('client frame timeout', () => {
  const cleanup = useCleanup();

  it('a frame trickled for longer than frameTimeoutMs ends the link with ERR_FRAME_TIMEOUT, and the client reconnects', async () => {
    // No PONGs: one written while the frame trickles would land inside it (in its
    // header under load, read as a bad length: ERR_PROTOCOL instead of the timeout).
    // The trickled bytes keep the heartbeat alive without them.
    const raw = new RawServer({ pong: false });
    const port = await raw.listen();
    const stops: Array<() => void> = [];
    let welcomed = 0;
    raw.server.on('welcomed', (socket: Socket) => {
      // Only the first connection gets the slow frame: the reconnect must work.
      if (++welcomed === 1) stops.push(trickle(socket, encodeData(1, Buffer.alloc(4000, 1)), 1, 20));
    });
    const client = new ResilientClient({
      host: '127.0.0.1',
      port,
      frameTimeoutMs: 300,
      // Bytes arrive every 20 ms: the heartbeat alone would never see silence.
      heartbeat: { intervalMs: 100, timeoutMs: 1000 },
      reconnect: { initialDelayMs: 10 },
    });
    cleanup.push(() => client.close(), () => raw.close(), () => stops.forEach((s) => s()));
    const messages = record(client, 'message');
    await client.connect();
    const [closed] = await waitFor<[{ error?: ResilientError; willReconnect: boolean }]>(client, 'close');
    expect(closed.error?.code).toBe('ERR_FRAME_TIMEOUT');
    expect(closed.willReconnect).toBe(true);
    await waitFor(client, 'open');
    expect(messages).toEqual([]); // nothing partial was delivered
  });

  it('frames that each complete within the bound are never cut, however long the stream lasts', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    // 60 frames of 40 bytes sent 7 bytes every 5 ms: always mid-frame at the end of a
    // chunk, each frame complete within ~35 ms, the whole stream ~1.7 s (> 5 × the bound).
    const frames = Buffer.concat(Array.from({ length: 60 }, (_, i) => encodeData(i + 1, Buffer.alloc(27, i))));
    const stops: Array<() => void> = [];
    raw.server.on('welcomed', (socket: Socket) => stops.push(trickle(socket, frames, 7, 5)));
    const client = new ResilientClient({ host: '127.0.0.1', port, frameTimeoutMs: 300, reconnect: { initialDelayMs: 10 } });
    cleanup.push(() => client.close(), () => raw.close(), () => stops.forEach((s) => s()));
    const closes = record(client, 'close');
    const last = waitFor<[Buffer, { id: number }]>(client, 'message', (_p, meta) => (meta as { id: number }).id === 60, 10_000);
    await client.connect();
    await last;
    expect(closes).toEqual([]);
  });

  it('frameTimeoutMs: false disables it; a bad value throws a TypeError naming it', () => {
    expect(() => new ResilientClient({ host: '127.0.0.1', port: 1, frameTimeoutMs: false })).not.toThrow();
    expect(() => new ResilientClient({ host: '127.0.0.1', port: 1, frameTimeoutMs: 0 })).toThrow(/frameTimeoutMs/);
    expect(() => new ResilientClient({ host: '127.0.0.1', port: 1, frameTimeoutMs: 'x' as never })).toThrow(TypeError);
  });
});
