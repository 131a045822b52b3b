/**
 * Which server to try next. Attempts go through the list in order (or a
 * shuffled order with `randomize`), moving on after each failed attempt;
 * after an open connection is lost, a new round starts at the first. Host
 * names are not cached: net.connect resolves them on every attempt.
 */
import type { Endpoint } from './options';

export class EndpointRotation {
  private order: readonly Endpoint[];
  private index = 0;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly randomize: boolean,
    private readonly random: () => number,
  ) {
    this.order = this.round();
  }

  /** The endpoint for the next attempt. */
  next(): Endpoint {
    if (this.index >= this.order.length) {
      this.index = 0;
      this.order = this.round();
    }
    return this.order[this.index++] as Endpoint;
  }

  /** An open connection was lost: start a new round from the first endpoint. */
  lost(): void {
    if (this.index === 0) return;
    this.index = 0;
    this.order = this.round();
  }

  /** The order of one round: the list itself unless shuffled (no copy per client). */
  private round(): readonly Endpoint[] {
    if (!this.randomize) return this.endpoints;
    const list = [...this.endpoints];
    // Fisher-Yates with the injected random source.
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [list[i], list[j]] = [list[j] as Endpoint, list[i] as Endpoint];
    }
    return list;
  }
}
