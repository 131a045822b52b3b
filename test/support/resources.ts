/**
 * Leak checks: process.getActiveResourcesInfo() before and after a test.
 * Handles are released by libuv in a later loop phase than the 'close' event,
 * so the check waits a bounded number of loop turns for the list to settle.
 */
export function resourceSnapshot(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'FSReqPromise' && r !== 'FSReqCallback');
}

function counts(list: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of list) c[r] = (c[r] ?? 0) + 1;
  return c;
}

/** Resource types of which there are more now than in `before`, with both counts. */
function excess(before: string[], now: string[]): Record<string, string> {
  const b = counts(before);
  const n = counts(now);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(n)) if (v > (b[k] ?? 0)) out[k] = `${b[k] ?? 0} before, ${v} now`;
  return out;
}

/**
 * Resolves when no resource type has more entries than in `before` (the test
 * runner's own timers may come and go, so fewer is fine), waiting at most
 * `turns` loop turns.
 */
export async function expectResourcesBackTo(before: string[], turns = 200): Promise<void> {
  let now = resourceSnapshot();
  for (let i = 0; i < turns && Object.keys(excess(before, now)).length > 0; i++) {
    await new Promise((r) => setImmediate(r));
    now = resourceSnapshot();
  }
  expect(excess(before, now)).toEqual({});
}
