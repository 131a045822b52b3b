/**
 * Which server to try next. Attempts go through the list in order (or a
 * shuffled order with `randomize`), moving on after each failed attempt;
 * after an open connection is lost, a new round starts at the first. Host
 * names are not cached: net.connect resolves them on every attempt.
 */
import type { Endpoint } from './options';

/** A rotation for `opts`, or undefined when there is one endpoint (every attempt goes to it: firstEndpoint()). */
export function rotationFor(opts: RotationOptions): EndpointRotation | undefined {
  return opts.endpoints.length > 1 ? new EndpointRotation(opts) : undefined;
}

/** The one endpoint of a client without a rotation. */
export function firstEndpoint(opts: RotationOptions): Endpoint {
  return opts.endpoints[0] as Endpoint;
}

/** What the rotation reads of the client's options (the resolved options themselves, shared: no copy of the three per client). */
export interface RotationOptions {
  readonly endpoints: readonly Endpoint[];
  readonly randomize: boolean;
  readonly random: () => number;
}

/**
 * The rotation over two endpoints or more. A client of one endpoint makes
 * none (firstEndpoint() is every attempt's: 48 B per client, bench/heap-per-client.ts).
 */
export class EndpointRotation {
  private order: readonly Endpoint[];
  private index = 0;

  constructor(private readonly opts: RotationOptions) {
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
    if (!this.opts.randomize) return this.opts.endpoints;
    const list = [...this.opts.endpoints];
    // Fisher-Yates with the injected random source.
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(this.opts.random() * (i + 1));
      [list[i], list[j]] = [list[j] as Endpoint, list[i] as Endpoint];
    }
    return list;
  }
}
