/**
 * A real collection in this process before a memory sample, so the numbers
 * show what is held, not garbage the collector has not reached yet.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** V8's gc(), exposed without restarting the test runner with --expose-gc. */
export const gc = runInNewContext('gc') as () => void;

/** process.memoryUsage() after two full collections (the first may only queue the finalizers that free ArrayBuffers). */
export function memoryAfterGc(): NodeJS.MemoryUsage {
  gc();
  gc();
  return process.memoryUsage();
}
