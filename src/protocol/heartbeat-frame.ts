/**
 * PING and PONG frames (docs/protocol.md) without an allocation: every one
 * the process writes is built in one reused buffer and handed to a FrameSink,
 * which copies a frame that small before it returns (protocol/peer.ts,
 * FrameSink.write; io/writer.ts copies it into its slab), and every one it
 * reads is decoded into one reused object. A heartbeat is the one frame every
 * connection sends each interval, so with 10,000 clients a Buffer and an
 * object per ping and per pong were a measurable share of both processes'
 * young-generation work (bench/scale.ts profiles, docs/benchmarks.md section 3).
 */
import { FrameType, HEADER_BYTES, PING_BYTES, PING_RTT_BYTES, PingPayload, readPing, writePing } from './frames';

const FRAME = Buffer.alloc(HEADER_BYTES + PING_RTT_BYTES);
/** FRAME's first bytes, one view per payload size (12 or 20 bytes). */
const SHORT = FRAME.subarray(0, HEADER_BYTES + PING_BYTES);
const IN: PingPayload = { seq: 0, sentAt: 0, rttMs: undefined };

/** A PING frame, valid until the next call of this module: write it at once. */
export function pingFrame(seq: number, sentAt: number, rttMs: number | undefined): Buffer {
  return writePing(FRAME, 0, FrameType.PING, seq, sentAt, rttMs) === FRAME.length ? FRAME : SHORT;
}

/** The PONG answering the PING payload at `buf[start, end)` (read with readHeartbeat first): that payload echoed byte for byte. */
export function pongFrame(buf: Buffer, start: number, end: number): Buffer {
  const len = end - start;
  FRAME.writeUInt32BE(1 + len, 0);
  FRAME[4] = FrameType.PONG;
  for (let i = 0; i < len; i++) FRAME[HEADER_BYTES + i] = buf[start + i] as number;
  return len === PING_RTT_BYTES ? FRAME : SHORT;
}

/** The PING/PONG payload at `buf[start, end)`, valid until the next call: read it, do not keep it. Throws ERR_PROTOCOL on a bad length. */
export function readHeartbeat(buf: Buffer, start: number, end: number): PingPayload {
  return readPing(buf, start, end, IN);
}
