/**
 * Deferred pumps: send() and sendMany() put their messages in the queue at
 * once and ask for one pump per client on the next process.nextTick, so a
 * synchronous run of sends (a loop, or the sends released by one ack) costs
 * one pump per connection instead of one per send, and nothing waits for a
 * later phase of the event loop. A setImmediate (every ack read in one poll
 * phase releasing one write) was measured and not kept: docs/decisions.md,
 * "Sends are pumped once per tick". Past PUMP_NOW_BYTES accepted in one run
 * the pumps start at once, so a long loop of sends keeps the socket busy
 * instead of piling up in the queue.
 */

/** What has messages to write: the client's lifecycle. */
export interface Pumpable {
  pump(): void;
}

/** Bytes accepted in one run after which the pumps go at once: the batch size of src/io/writer.ts. */
const PUMP_NOW_BYTES = 256 * 1024;

const due = new Set<Pumpable>();
let scheduled = false;
let bytesDue = 0;
/** The Pumpable added to `due` last in this run (cleared with it). */
let lastAsked: Pumpable | undefined;

function flushDue(): void {
  scheduled = false;
  bytesDue = 0;
  lastAsked = undefined;
  // A Set visits what is added while iterating: a pump that queues more is served in this run.
  for (const p of due) {
    due.delete(p);
    if (p === lastAsked) lastAsked = undefined;
    p.pump();
  }
}

/** Pumps `p` on the next tick (once, however often it is asked before), or now past PUMP_NOW_BYTES. */
export function pumpSoon(p: Pumpable, bytes: number): void {
  // A run of sends from one client asks again and again: skip the Set for the one asked last.
  if (p !== lastAsked || !scheduled) {
    due.add(p);
    lastAsked = p;
  }
  bytesDue += bytes;
  if (bytesDue >= PUMP_NOW_BYTES) {
    // A scheduled tick still runs and finds nothing due.
    flushDue();
    return;
  }
  if (scheduled) return;
  scheduled = true;
  process.nextTick(flushDue);
}
