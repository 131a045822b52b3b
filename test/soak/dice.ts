/**
 * The soak's randomness: a seeded PRNG, so that a run's fault schedule,
 * payload sizes and proxy jitter repeat for the same seed, and the draws
 * taken from it.
 */
import type { DirectionArg } from '../support/fault-proxy';

/** A range [lo, hi] to draw from with Dice.between(). */
export type Range = readonly [number, number];

/** Deterministic PRNG (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
