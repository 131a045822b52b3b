/**
 * The soak's randomness: a seeded PRNG, so that a run's fault schedule,
 * payload sizes and proxy jitter repeat for the same seed, and the draws
 * taken from it.
 */
import type { DirectionArg } from '../support/fault-proxy';
import { seeded } from '../support/seeded';

export { seeded };

/** A range [lo, hi] to draw from with Dice.between(). */
export type Range = readonly [number, number];

/** Draws from one PRNG: whole numbers in a range, an item of a list, a direction. */
export class Dice {
  constructor(readonly random: () => number) {}
  between([lo, hi]: Range): number {
    return Math.round(lo + this.random() * (hi - lo));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }
  dir(): DirectionArg {
    return this.pick(['upstream', 'downstream', 'both'] as const);
  }
}
