/**
 * Jest setup file: tracks every timer created by the library's own code
 * (src/), so leak checks can tell our timers from the test runner's. Jest's
 * own hook and test timeouts come and go in process.getActiveResourcesInfo(),
 * which makes a raw 'Timeout' count flaky; the other resource types (sockets,
 * servers, pipes) are compared as they are.
 */
import { createHook } from 'node:async_hooks';
import * as path from 'node:path';

const SRC = `${path.sep}src${path.sep}`;
const live = new Map<number, { stack: string; timer: { hasRef?: () => boolean } }>();

createHook({
  init(asyncId, type, _trigger, resource) {
    if (type !== 'Timeout') return;
    const stack = new Error().stack ?? '';
    const ours = stack.split('\n').some((l) => l.includes(SRC) && !l.includes('node_modules'));
    if (ours) live.set(asyncId, { stack, timer: resource as { hasRef?: () => boolean } });
  },
  destroy(asyncId) {
    live.delete(asyncId);
  },
}).enable();

/** Stacks of library timers that are still pending. */
export function liveLibraryTimers(): string[] {
  return [...live.values()].map((t) => t.stack.split('\n').filter((l) => l.includes(SRC)).slice(0, 3).join(' <- '));
}

(globalThis as { __liveLibraryTimers?: () => string[] }).__liveLibraryTimers = liveLibraryTimers;
