/**
 * Driving a HeartbeatServer's reads by hand: the server's end of the next
 * accepted connection (emit `data` on it as libuv's read loop does), DATA
 * frames by id, and what the raw client saw come back (PONGs, ACKs).
 * Used by test/integration/server-acks.test.ts and server-batch.test.ts.
 */
import type * as net from 'node:net';
import { FrameType, encodeData, encodePing, readId } from '../../src/protocol/frames';
import { waitFor } from './events';
import type { RawClient } from './raw-client';

/** The server side of the next accepted connection (the test's window onto what libuv hands the server). */
export function nextAccepted(server: unknown): Promise<net.Socket> {
  const listener = (server as { server: net.Server }).server;
  return waitFor<[net.Socket]>(listener, 'connection').then(([s]) => s);
}

/** DATA frames with ids from..to, payload `m<id>`, in one buffer. */
export function dataFrames(from: number, to: number): Buffer {
  const frames: Buffer[] = [];
  for (let id = from; id <= to; id++) frames.push(encodeData(id, Buffer.from(`m${id}`)));
  return Buffer.concat(frames);
}

/** A PING answered: every frame the server wrote before it has arrived. */
export async function roundTrip(raw: RawClient): Promise<void> {
  const pongs = raw.frames.filter((f) => f.type === FrameType.PONG).length;
  raw.socket.write(encodePing(FrameType.PING, { seq: 1, sentAt: 0 }));
  while (raw.frames.filter((f) => f.type === FrameType.PONG).length === pongs) await waitFor(raw.socket, 'frame');
}

/** The ids of the ACKs the raw client received, in order. */
export function acksOf(raw: RawClient): number[] {
  return raw.frames.filter((f) => f.type === FrameType.ACK).map((f) => readId(f.payload));
}

/** A raw client past WELCOME, and the server's end of its connection. */
export async function welcomedRaw(server: unknown, connect: () => Promise<RawClient>): Promise<{ raw: RawClient; socket: net.Socket }> {
  const accepted = nextAccepted(server);
  const raw = await connect();
  const socket = await accepted;
  raw.hello();
  await raw.nextFrame(FrameType.WELCOME);
  return { raw, socket };
}
