/**
 * The default client id (the `clientId` option left unset) without a string
 * per idle client: a client keeps a number, and its id is made from it when
 * a HELLO needs it. Each id is a version 4 UUID: the process's own random
 * UUID (crypto.randomUUID(), made on first use) with its last 32 bits XORed
 * with the client's number, so ids are distinct within a process (for 2^32
 * clients) and as unpredictable across processes as a random UUID's other 90
 * random bits. A UUID string kept per client was 56 B of an idle client's
 * heap (bench/heap-per-client.ts).
 */
import { randomUUID } from 'node:crypto';

/** A client's id as it keeps it: the string given, or the number its default id is made from. */
export type ClientIdSource = string | number;

/** The process's random UUID: its first 28 characters, and its last 8 as a number. */
let head: string | undefined;
let tail = 0;
let lastNumber = 0;

/** The id source of a new client: `given` (already checked), else the next number. */
export function newClientId(given: string | undefined): ClientIdSource {
  return given ?? ++lastNumber;
}

/** The id a client sends: the string given, or the UUID of its number. */
export function clientIdText(source: ClientIdSource): string {
  if (typeof source === 'string') return source;
  if (head === undefined) {
    const uuid = randomUUID();
    head = uuid.slice(0, 28);
    tail = parseInt(uuid.slice(28), 16);
  }
  return head + ((tail ^ source) >>> 0).toString(16).padStart(8, '0');
}
