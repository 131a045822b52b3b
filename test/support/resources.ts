/**
 * Leak checks: process.getActiveResourcesInfo() before and after a test.
 * Handles are released by libuv in a later loop phase than the 'close' event,
 * so the check waits a bounded number of loop turns for the list to settle.
 *
 * 'Timeout' entries are the test runner's as much as ours, so timers are
 * checked through test/support/timer-tracker.ts instead: no timer created by
 * src/ may be pending once the test has closed everything.
 */
const IGNORED = new Set(['FSReqPromise', 'FSReqCallback', 'Timeout']);

export function resourceSnapshot(): string[] {
  return process.getActiveResourcesInfo().filter((r) => !IGNORED.has(r));
}

function counts(list: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of list) c[r] = (c[r] ?? 0) + 1;
  return c;
}

function libraryTimers(): string[] {
  const fn = (globalThis as { __liveLibraryTimers?: () => string[] }).__liveLibraryTimers;
  return fn ? fn() : [];
}

/** What is open now beyond `before`: resource types with more entries, and library timers. */
function leaks(before: string[], now: string[]): Record<string, string> {
  const b = counts(before);
  const n = counts(now);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) if (v > (b[k] ?? 0)) out[k] = `${b[k] ?? 0} before, ${v} now`;
  libraryTimers().forEach((stack, i) => (out[`timer ${i}`] = stack));
  return out;
}

/** Resolves when nothing is open beyond `before` (waiting at most `turns` loop turns, then `graceMs`), else fails listing what is. */
export async function expectResourcesBackTo(before: string[], turns = 200, graceMs = 2000): Promise<void> {
  let found = leaks(before, resourceSnapshot());
  for (let i = 0; i < turns && Object.keys(found).length > 0; i++) {
    await new Promise((r) => setImmediate(r));
    found = leaks(before, resourceSnapshot());
  }
  // On a loaded machine the kernel may take longer to report a socket closed:
  // poll (bounded) rather than fail; a real leak stays past the grace period.
  const deadline = performance.now() + graceMs;
  while (Object.keys(found).length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    found = leaks(before, resourceSnapshot());
  }
  expect(found).toEqual({});
}
