// A CommonJS consumer of the installed tarball (see test/smoke-dist.cjs):
// type-checked under module/moduleResolution node16, nodenext, bundler and
// node10 (a CJS consumer on node16 needs .d.cts: TS1479), compiled to
// require() calls (nodenext) and run by run.mjs (its round trip is the ES
// module consumer's: run.mjs checks both load the very same objects).
import { ResilientClient, ResilientError, classifyError, type LivenessLayers, type Logger } from 'resilient-tcp';
import { HeartbeatServer } from 'resilient-tcp/server';

export { ResilientError };

export const kind: 'transient' | 'unavailable' | 'network' | 'fatal' = classifyError('ECONNRESET');

/** What connect() on a closed client rejects with: an error made by the library as this module loaded it. */
export async function closedError(): Promise<unknown> {
  const client = new ResilientClient({ host: '127.0.0.1', port: 1 });
  await client.close();
  return client.connect().catch((err: unknown) => err);
}

/**
 * A client with deadAfterMs in a project without the optional peer
 * dependency net-keepalive: the liveness layers it reports once open, and the
 * warnings its logger got.
 */
export async function deadAfterWithoutNetKeepalive(): Promise<{ layers: LivenessLayers; warnings: string[] }> {
  const server = new HeartbeatServer({ host: '127.0.0.1' });
  const { port } = await server.listen();
  const warnings: string[] = [];
  const ignore = (): void => undefined;
  const logger: Logger = { debug: ignore, info: ignore, error: ignore, warn: (_fields, msg) => void warnings.push(msg) };
  const client = new ResilientClient({ host: '127.0.0.1', port, deadAfterMs: 3_000, logger });
  try {
    await client.connect();
    return { layers: client.stats().layers, warnings };
  } finally {
    await client.close();
    await server.close();
  }
}
