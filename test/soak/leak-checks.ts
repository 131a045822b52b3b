/**
 * The heap and handle checks around a run: src/ timers tracked (also outside
 * Jest), a forced GC so heap sizes compare, and the handles left open beyond
 * a baseline. Handles are listed by test/support/resources.ts, which leaves
 * out timers and fs requests (the timers of src/ are tracked instead); the
 * comparison here reports what it finds instead of failing a Jest expect().
 */
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { resourceSnapshot } from '../support/resources';

/** Stacks of live src/ timers, or undefined when they are not tracked. */
export function libraryTimers(): string[] | undefined {
  return (globalThis as { __liveLibraryTimers?: () => string[] }).__liveLibraryTimers?.();
}

/** Makes sure src/ timers are tracked. */
export function trackLibraryTimers(): void {
  if (!libraryTimers()) {
    // Outside Jest the setup file has not run: track src/ timers ourselves.
    require('../support/timer-tracker');
  }
}

/** A forced, full GC: --expose-gc set at run time, `gc` taken from a fresh context. */
export function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Open handles (timers and fs requests left out) by resource type. */
export function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resourceSnapshot()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/**
 * Handles beyond `before`, plus live src/ timers. libuv releases a handle a
 * loop phase after its 'close' event, and a loaded kernel may be slower still:
 * wait up to 200 loop turns, then poll for up to 2 s; a real leak stays.
 */
export async function leaksSince(before: Record<string, number>): Promise<Record<string, string>> {
  const find = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(handleCounts())) if (v > (before[k] ?? 0)) out[k] = `${before[k] ?? 0} before, ${v} now`;
    (libraryTimers() ?? []).forEach((stack, i) => (out[`src timer ${i}`] = stack));
    return out;
  };
  let found = find();
  for (let i = 0; i < 200 && Object.keys(found).length > 0; i++) {
    await new Promise((r) => setImmediate(r));
    found = find();
  }
  const deadline = performance.now() + 2000;
  while (Object.keys(found).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    found = find();
  }
  return found;
}
