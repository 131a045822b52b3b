/**
 * The per-test frame every integration suite uses: things to close, closed
 * in reverse order after each test, then the leak check.
 */
import * as net from 'node:net';
import { expectResourcesBackTo, resourceSnapshot } from './resources';

export type Cleanup = Array<() => Promise<unknown> | unknown>;

/** Registers beforeEach/afterEach in the calling describe block; push closers onto the returned list. */
export function useCleanup(): Cleanup {
  let before: string[] = [];
  const cleanup: Cleanup = [];
  beforeEach(() => {
    before = resourceSnapshot();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await expectResourcesBackTo(before);
  });
  return cleanup;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
