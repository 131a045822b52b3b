import { pumpSoon } from '../../src/client/flush';

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('pumpSoon', () => {
  it('pumps each client once per tick however often it is asked', async () => {
    const a = { pumps: 0, pump: () => void a.pumps++ };
    const b = { pumps: 0, pump: () => void b.pumps++ };
    for (let i = 0; i < 100; i++) pumpSoon(i % 3 === 0 ? b : a, 64);
    expect([a.pumps, b.pumps]).toEqual([0, 0]);
    await tick();
    expect([a.pumps, b.pumps]).toEqual([1, 1]);
  });

  it('a client asked again from inside a pump is pumped again on the next tick, however often it asks', async () => {
    let rounds = 0;
    const again = {
      pumps: 0,
      pump: () => {
        again.pumps++;
        // First pump: asks for another, twice (the second ask must not be lost as already due).
        if (rounds++ === 0) {
          pumpSoon(again, 64);
          pumpSoon(again, 64);
        }
      },
    };
    const first = { pump: () => pumpSoon(again, 64) };
    pumpSoon(first, 64);
    await tick();
    await tick();
    expect(again.pumps).toBe(2);
  });

  it('pumps at once past 256 KiB asked in one run', () => {
    const c = { pumps: 0, pump: () => void c.pumps++ };
    for (let i = 0; i < 64; i++) pumpSoon(c, 4096);
    expect(c.pumps).toBe(1);
  });
});
