/**
 * A doubly linked list ordered by when each member took its place. With one
 * timeout for all its members, the head is the first to expire, so a sweep
 * touches only the expired members plus one: O(expired), and O(1) when
 * nothing expired (contrast a full scan of a Map, O(N) per tick). touch() and
 * remove() are O(1).
 *
 * Lazy touch (`slackMs` > 0): a touch within `slackMs` of the member's last
 * move only writes its time; it moves to the tail when its place is older.
 * A member's time is then at most `slackMs` after its place, so the sweep
 * still stops at the first member placed after the cutoff, and expires
 * exactly the members last touched at or before it. What it looks at beyond
 * the expired: members placed before the cutoff but touched since, i.e.
 * silent for more than the timeout minus `slackMs` (docs/decisions.md,
 * "Lazy touch of the idle list").
 */

export interface ExpiryNode<T> {
  readonly value: T;
  /** Last touch time (ms, the owner's clock). */
  at: number;
  /** The touch time at which the node took its place in the list: the list is ordered by it, and `at` ≥ it. */
  placedAt: number;
  prev: ExpiryNode<T> | undefined;
  next: ExpiryNode<T> | undefined;
  /** The list the node is in, if any: a node moves between lists (handshaking -> active) but is in one at a time. */
  owner: ExpiryList<T> | undefined;
}

export function expiryNode<T>(value: T, at = 0): ExpiryNode<T> {
  return { value, at, placedAt: at, prev: undefined, next: undefined, owner: undefined };
}

export class ExpiryList<T> {
  private head: ExpiryNode<T> | undefined;
  private tail: ExpiryNode<T> | undefined;
  private count = 0;
  /** @internal Members the last expire() looked at (the expired, the skipped and the one it stopped at): for tests and benchmarks. */
  lastSweepVisits = 0;

  /**
   * @param slackMs a touch less than this after the member's last move only
   *   writes its time (ms, the owner's clock). 0 (the default): every touch
   *   moves it to the tail.
   */
  constructor(readonly slackMs = 0) {}

  get size(): number {
    return this.count;
  }

  /**
   * Sets the node's time to `now`. Moves it to the tail (inserting it if
   * needed), unless it is already in this list and took its place less than
   * `slackMs` before `now`.
   */
  touch(node: ExpiryNode<T>, now: number): void {
    node.at = now;
    if (node.owner === this) {
      const since = now - node.placedAt;
      if (since >= 0 && since < this.slackMs) return;
      node.placedAt = now;
      if (node === this.tail) return;
      this.unlink(node);
    } else {
      if (node.owner) node.owner.remove(node);
      node.placedAt = now;
    }
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    node.owner = this;
    this.count++;
  }

  /** Removes the node if it is in this list (a node of another list, or none, is left alone). */
  remove(node: ExpiryNode<T> | undefined): void {
    if (node?.owner === this) this.unlink(node);
  }

  /**
   * Removes and returns the values touched at or before `now - ttl`, in the
   * order of their places (oldest touch first when `slackMs` is 0). Stops at
   * the first member placed after `now - ttl`: it, and every member behind
   * it, was touched after.
   */
  expire(now: number, ttl: number): T[] {
    const out: T[] = [];
    const cutoff = now - ttl;
    let visits = 0;
    let n = this.head;
    while (n) {
      visits++;
      if (n.placedAt > cutoff) break;
      const next = n.next;
      // Placed before the cutoff but touched since (a lazy touch): alive, left where it is until its next touch moves it.
      if (n.at <= cutoff) {
        this.unlink(n);
        out.push(n.value);
      }
      n = next;
    }
    this.lastSweepVisits = visits;
    return out;
  }

  /** The member placed first (the head; with `slackMs` 0 the one touched longest ago), or undefined when empty. O(1). */
  first(): T | undefined {
    return this.head?.value;
  }

  /** When the head took its place: the oldest member's touch time with `slackMs` 0, a lower bound of it otherwise. Undefined when empty. */
  oldest(): number | undefined {
    return this.head?.placedAt;
  }

  *values(): IterableIterator<T> {
    for (let n = this.head; n; n = n.next) yield n.value;
  }

  private unlink(node: ExpiryNode<T>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.owner = undefined;
    this.count--;
  }
}
