/**
 * A doubly linked list ordered by last touch. With one timeout for all its
 * members, the head is always the first to expire, so a sweep touches only
 * the expired members plus one: O(expired), and O(1) when nothing expired
 * (contrast a full scan of a Map, O(N) per tick). touch() and remove() are O(1).
 */

export interface ExpiryNode<T> {
  readonly value: T;
  /** Last touch time (ms, the owner's clock). */
  at: number;
  prev: ExpiryNode<T> | undefined;
  next: ExpiryNode<T> | undefined;
  /** The list the node is in, if any: a node moves between lists (handshaking -> active) but is in one at a time. */
  owner: ExpiryList<T> | undefined;
}

export function expiryNode<T>(value: T, at = 0): ExpiryNode<T> {
  return { value, at, prev: undefined, next: undefined, owner: undefined };
}

export class ExpiryList<T> {
  private head: ExpiryNode<T> | undefined;
  private tail: ExpiryNode<T> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Sets the node's time to `now` and moves it to the tail (inserting it if needed). */
  touch(node: ExpiryNode<T>, now: number): void {
    node.at = now;
    if (node.owner === this) {
      if (node === this.tail) return;
      this.unlink(node);
    } else if (node.owner) {
      node.owner.remove(node);
    }
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    node.owner = this;
    this.count++;
  }

  /** Removes the node if it is in this list (a node of another list is left alone). */
  remove(node: ExpiryNode<T>): void {
    if (node.owner === this) this.unlink(node);
  }

  /**
   * Removes and returns the values touched at or before `now - ttl`, oldest
   * first. Stops at the first member still alive.
   */
  expire(now: number, ttl: number): T[] {
    const out: T[] = [];
    const cutoff = now - ttl;
    while (this.head && this.head.at <= cutoff) {
      const n = this.head;
      this.unlink(n);
      out.push(n.value);
    }
    return out;
  }

  /** The oldest member (the head), or undefined when empty. O(1). */
  first(): T | undefined {
    return this.head?.value;
  }

  /** The time the oldest member was touched, or undefined when empty. */
  oldest(): number | undefined {
    return this.head?.at;
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
