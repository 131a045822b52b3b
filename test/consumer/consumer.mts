// An ES module consumer of the installed tarball (see test/smoke-dist.cjs):
// type-checked under module/moduleResolution node16, nodenext, bundler and
// node10, then compiled (nodenext) and run by run.mjs.
import { ErrorCodes, ResilientClient, ResilientError, type ClientState } from 'resilient-tcp';
import { HeartbeatServer, type ConnectionInfo, type Session } from 'resilient-tcp/server';

export { ResilientError };

export const unknownCode: 'ERR_UNKNOWN' = ErrorCodes.UNKNOWN;
export const initialState: ClientState = 'idle';

/** One message from client to server over loopback; resolves with what the server received. */
export async function roundTrip(label: string): Promise<string> {
  const server = new HeartbeatServer({ host: '127.0.0.1' });
  const { port } = await server.listen();
  const client = new ResilientClient({ host: '127.0.0.1', port });
  try {
    const got = new Promise<string>((resolve) => server.once('message', (_session, payload) => resolve(payload.toString())));
    await client.connect();
    const rows: ConnectionInfo[] = server.connections();
    if (rows.length !== 1) throw new Error(`expected one connection, got ${rows.length}`);
    await client.send(label);
    return await got;
  } finally {
    await client.close();
    await server.close();
  }
}

/** What send() on a closed client rejects with: an error made by the library as this module loaded it. */
export async function closedError(): Promise<unknown> {
  const client = new ResilientClient({ host: '127.0.0.1', port: 1 });
  await client.close();
  return client.send('x').then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** Members marked @internal are not in the published declarations. */
export function internalsAreHidden(s: Session): void {
  // @ts-expect-error Session.conn is @internal
  void s.conn;
  // @ts-expect-error Session.inbound is @internal
  void s.inbound;
  // @ts-expect-error Session.outbound is @internal
  void s.outbound;
  // @ts-expect-error Session.retention is @internal
  void s.retention;
  // @ts-expect-error Session.end() is @internal
  void s.end;
}
