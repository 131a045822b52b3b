/**
 * The pump from a delivery window (core/delivery.ts) into whatever writes
 * messages: the client's link (io/link.ts) and the server's peer
 * (protocol/peer.ts). One run of messages per call, while the sink has room.
 */
import type { OutboundWindow } from '../core/delivery';
import { sdkError } from '../core/errors';
import { DATA_HEADER_BYTES } from './frames';

/** Something that takes one message at a time while it has room. */
export interface MessageSink {
  /** Bytes it takes before it is blocked (0 or less: blocked); read once per run of messages. */
  readonly room: number;
  sendMessage(id: number, payload: Buffer): void;
}

/**
 * Writes queued messages while `sink` takes them; a message over `limit`
 * bytes is rejected, not sent. `held` (a handshake is running): only resends
 * and handshake messages (OutboundWindow.takeNext).
 *
 * The sink's room is read once per run of messages, not per message: the
 * run counts down what it wrote (each DATA frame's header and payload; a
 * codec's frame is its payload alone, so it is counted high and the sink
 * asked sooner, never later), and asks the sink again only once that is used
 * up. Writing only ever takes room (a flush into the kernel may give some
 * back), so the same messages are written as with a check before each one.
 */
export function pump(window: OutboundWindow, sink: MessageSink, limit: number, held = false): void {
  let room = sink.room;
  while (room > 0 || (room = sink.room) > 0) {
    const payload = window.takeNext(held);
    if (!payload) return;
    const bytes = payload.length;
    if (bytes > limit) {
      // Accepted before the peer told us its (smaller) frame limit.
      window.discardTaken(sdkError('ERR_FRAME_TOO_LARGE', `message of ${bytes} bytes exceeds the peer's ${limit}-byte limit`));
      continue;
    }
    sink.sendMessage(window.takenId, payload);
    room -= DATA_HEADER_BYTES + bytes;
  }
}
