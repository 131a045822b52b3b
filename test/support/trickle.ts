/**
 * Byte trickling: a peer that sends a frame a few bytes per TCP segment, the
 * way a slowloris or a hostile peer does, over real sockets.
 */
import type { Socket } from 'node:net';

/** Above this many bytes queued in a socket, wait for 'drain' before the next turn. */
const DRAIN_AT_BYTES = 64 * 1024;

export interface Trickle {
  socket: Socket;
  bytes: Buffer;
}

export interface TrickleOptions {
  /** Bytes per write. @default 1 */
  segmentBytes?: number;
  /**
   * Awaited after each round with the bytes written so far by all sockets: a
   * reader in another process can say it has read them, so that each of its
   * reads gets one segment (the kernel would otherwise coalesce them).
   */
  afterRound?: (written: number) => Promise<void>;
}

/**
 * Writes each socket's bytes a segment at a time: one segment per socket,
 * then one turn of the event loop (and `afterRound`), until every socket has
 * sent its bytes (or is destroyed). Nagle is turned off so each write leaves
 * as its own segment; a reader in this process reads each one before the
 * next is written. The loop is bounded by the longest stream's length.
 */
export async function trickle(streams: Trickle[], options: TrickleOptions = {}): Promise<void> {
  const segmentBytes = options.segmentBytes ?? 1;
  for (const { socket } of streams) socket.setNoDelay(true);
  const longest = Math.max(0, ...streams.map((s) => s.bytes.length));
  let written = 0;
  for (let at = 0; at < longest; at += segmentBytes) {
    for (const { socket, bytes } of streams) {
      if (at >= bytes.length || socket.destroyed) continue;
      const segment = bytes.subarray(at, at + segmentBytes);
      socket.write(segment);
      written += segment.length;
    }
    await new Promise((r) => setImmediate(r));
    await options.afterRound?.(written);
    const full = streams.find(({ socket }) => !socket.destroyed && socket.writableLength > DRAIN_AT_BYTES);
    if (full) await drainedOrClosed(full.socket);
  }
}

function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** The stream cut into pieces of `size` bytes (the last may be shorter): the decoder-level trickle. */
export function segments(bytes: Buffer, size = 1): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}
