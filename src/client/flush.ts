/**
 * Deferred writes: send() and sendMany() queue their messages at once but
 * write them on the next turn of the event loop, one setImmediate for every
 * client of the process. Every send of one turn, and every send released by
 * the acks read in one poll phase, leave in one write per connection instead
 * of one per socket read (docs/decisions.md, "Sends are written on
 * setImmediate"). A lone send waits for at most the current poll phase: a
 * pending immediate keeps libuv from blocking in poll. Past PUMP_NOW_BYTES
 * accepted in one turn the writes start at once, so a long synchronous burst
 * of sends keeps the socket busy instead of piling up in the queue.
 */

/** What has messages to write: the client's lifecycle. */
export interface Pumpable {
  pump(): void;
}

/** Bytes accepted in one turn after which the pumps run at once: the batch size of src/io/writer.ts. */
const PUMP_NOW_BYTES = 256 * 1024;

const due = new Set<Pumpable>();
let scheduled = false;
let bytesDue = 0;

function flushDue(): void {
  scheduled = false;
  bytesDue = 0;
  // A Set visits what is added while iterating: a pump that queues more is served in this turn.
  for (const p of due) {
    due.delete(p);
    p.pump();
  }
}

/** Pumps `p` on the next setImmediate (once, however often it is asked in this turn), or now past PUMP_NOW_BYTES. */
export function pumpSoon(p: Pumpable, bytes: number): void {
  due.add(p);
  bytesDue += bytes;
  if (bytesDue >= PUMP_NOW_BYTES) {
    // The immediate still runs (an immediate cannot be cancelled without a handle); it finds nothing due.
    flushDue();
    return;
  }
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushDue);
}
