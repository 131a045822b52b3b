/**
 * What an open but quiet connection costs the server, measured after a full
 * collection in a server running in its own process: no write slab of its
 * own (src/writer.ts shares one per process; one 256 KiB slab per connection
 * reserved 500 MiB of ArrayBuffers for 2,000 silent connections).
 */
import { FrameType } from '../../src/protocol/frames';
import { useCleanup } from '../support/lifecycle';
import { startMemoryServer } from '../support/memory-server';
import { RawClient } from '../support/raw-client';

const KiB = 1024;
const MiB = 1024 * KiB;
/** One shared slab for the whole process, allocated by the first write. */
const SLAB_BYTES = 256 * KiB;
/** ArrayBuffer bytes an open connection may keep beyond the slab (none are expected). */
const PER_CONNECTION = 1 * KiB;
/** What arrayBuffers moves by on its own between two samples after gc(). */
const NOISE = 512 * KiB;

describe('memory of open, quiet server connections', () => {
  const cleanup = useCleanup();

  it('200 connections that were welcomed and then fell silent hold no write slab each', async () => {
    const server = await startMemoryServer({ idleTimeoutMs: 120_000 });
    cleanup.push(() => server.stop());
    const before = await server.memory();
    const n = 200;
    const raws: RawClient[] = [];
    cleanup.push(() => raws.forEach((r) => r.destroy()));
    for (let i = 0; i < n; i++) {
      const r = await RawClient.connect(server.port);
      raws.push(r);
      r.hello({ clientId: `quiet-${i}` });
    }
    // Every connection got its WELCOME: the server has written to each of them.
    await Promise.all(raws.map((r) => r.nextFrame(FrameType.WELCOME)));
    const after = await server.memory();
    expect(after.sockets).toBe(n);
    const arrayBuffers = after.arrayBuffers - before.arrayBuffers;
    const heap = after.heapUsed - before.heapUsed;
    console.log(`${n} quiet connections: arrayBuffers +${(arrayBuffers / MiB).toFixed(2)} MiB, heap +${(heap / KiB / n).toFixed(1)} KiB per connection`);
    expect(arrayBuffers).toBeLessThanOrEqual(SLAB_BYTES + PER_CONNECTION * n + NOISE);
  }, 60_000);
});
