/**
 * The chaos soak (test/soak/soak.ts) as a CI test: 100 clients, 20 s of random
 * faults and two server restarts, then every guarantee checked. The run takes
 * about 25 s (a 2 s warm-up, setup, the 20 s of chaos, drain and close); the
 * Jest timeout is only a guard.
 */
import { runSoak, type SoakResult } from './soak';

jest.setTimeout(60_000);

describe('chaos soak', () => {
  let result: SoakResult;

  beforeAll(async () => {
    result = await runSoak({ seconds: 20, clients: 100, log: () => undefined });
    // One block for the summary: Jest prints each console.log with its own header.
    console.log(result.summary);
  });

  it('injected every kind of fault, many times, and restarted the server twice', () => {
    for (const [kind, f] of Object.entries(result.faults)) {
      expect({ kind, injected: f.injected > 10, acted: f.acted > 0 }).toEqual({ kind, injected: true, acted: true });
    }
    expect(result.restarts).toBe(2);
    // Every client opened on the first server and came back to the last one (its
    // last sends needed that server's acks), so each reconnected at least once.
    expect(result.clientsPerEpoch[0]).toBe(result.clients);
    expect(result.clientsPerEpoch[2]).toBe(result.clients);
    expect(result.reconnects).toBeGreaterThanOrEqual(result.clients);
  });

  it('kept every delivery guarantee: exactly once per server epoch, at least once with matching ids across restarts', () => {
    expect(result.violations).toEqual([]);
    expect(result.violationCount).toBe(0);
    expect(result.duplicates.withinEpoch).toEqual([0, 0, 0]);
    expect(result.duplicates.down).toBe(0);
    // Every client send was acknowledged once the faults were lifted; messages flowed both ways.
    expect(result.up.acked).toBe(result.up.sent);
    expect(result.up.rejected).toBe(0);
    expect(result.up.distinct).toBe(result.up.sent);
    expect(result.up.sent).toBeGreaterThan(result.clients * 20);
    expect(result.down.acked).toBeGreaterThan(result.clients * 20);
  });

  it('raised no uncaught exception or unhandled rejection', () => {
    expect(result.unhandled).toEqual([]);
  });

  it('left no handle and no src/ timer behind once everything was closed', () => {
    expect(result.timerTracking).toBe(true);
    expect(result.leaks).toEqual({});
  });

  it('returned the heap, after a forced GC, to within 20% of the start', () => {
    expect(result.heap.ratio).toBeLessThanOrEqual(1.2);
  });
});
