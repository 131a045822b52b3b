/**
 * Which endpoint the client tries next (src/client/endpoints.ts): a rotation
 * only for two endpoints or more; a client of one endpoint makes none.
 */
import { EndpointRotation, firstEndpoint, rotationFor } from '../../src/client/endpoints';

const A = { host: 'a', port: 1 };
const B = { host: 'b', port: 2 };
const C = { host: 'c', port: 3 };
const opts = (endpoints: Array<{ host: string; port: number }>, randomize = false, random = Math.random) => ({ endpoints, randomize, random });

describe('endpoint rotation (client/endpoints.ts)', () => {
  it('a client of one endpoint has no rotation: every attempt goes to that endpoint', () => {
    expect(rotationFor(opts([A]))).toBeUndefined();
    expect(rotationFor(opts([A], true))).toBeUndefined();
    expect(firstEndpoint(opts([A]))).toBe(A);
  });

  it('attempts go through the list in order, round after round; a lost open connection starts a new round at the first', () => {
    const r = rotationFor(opts([A, B, C])) as EndpointRotation;
    expect(r).toBeInstanceOf(EndpointRotation);
    expect([r.next(), r.next(), r.next(), r.next()]).toEqual([A, B, C, A]);
    r.next();
    r.lost();
    expect(r.next()).toBe(A);
  });

  it('randomize shuffles each round with the injected random source', () => {
    // random() = 0 always swaps with the first: [A, B, C] -> [B, C, A].
    const r = rotationFor(opts([A, B, C], true, () => 0)) as EndpointRotation;
    expect([r.next(), r.next(), r.next()]).toEqual([B, C, A]);
  });
});
