/**
 * Acknowledgements of ids never written (issue 9 item 3): an ACK, a WELCOME
 * `acked` or a HELLO `lastSeen` beyond the highest id the receiver ever wrote
 * is ERR_PROTOCOL on both sides. The connection is dropped and no send
 * resolves: believing the peer would report messages delivered that never
 * left this process (src/core/delivery.ts OutboundWindow.checkAcked).
 */
import type { Socket } from 'node:net';
import { ResilientClient, ResilientError } from '../../src';
import type { Session } from '../../src/server';
import { FrameType, encodeAck, encodeJson } from '../../src/protocol/frames';
import { waitFor } from '../support/events';
import { useCleanup, useServerWithRawClients } from '../support/lifecycle';
import { RawServer } from '../support/raw-server';

/** The largest id the protocol carries (frames.ts rejects more). */
const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Sends `n` messages and records how each settles. */
function sendAll(client: ResilientClient, n: number, size: number): { settled: Promise<void>; resolved: () => number; codes: string[] } {
  let ok = 0;
  const codes: string[] = [];
  const all = Array.from({ length: n }, () =>
    client.send(Buffer.alloc(size, 7)).then(
      () => void ok++,
      (e: ResilientError) => void codes.push(e.code),
    ),
  );
  return { settled: Promise.all(all).then(() => undefined), resolved: () => ok, codes };
}

describe('client: acknowledgements beyond what was written', () => {
  const cleanup = useCleanup();

  it('an ACK above anything written (reader paused, writer blocked) drops the link with ERR_PROTOCOL and resolves no send', async () => {
    const raw = new RawServer();
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: false, queue: { maxBytes: 64 << 20 } });
    cleanup.push(() => client.close(), () => raw.close());
    // The raw server stops reading once it welcomed: the client's writes back up.
    const welcomed = waitFor<[Socket]>(raw.server, 'welcomed');
    await client.connect();
    const [socket] = await welcomed;
    socket.pause();
    const N = 200;
    const sends = sendAll(client, N, 256 * 1024);
    const closed = waitFor<[{ error?: ResilientError }]>(client, 'close');
    socket.write(encodeAck(N));
    const [{ error }] = await closed;
    expect(error?.code).toBe('ERR_PROTOCOL');
    await sends.settled;
    expect(sends.resolved()).toBe(0);
    expect(sends.codes.length).toBe(N);
  });

  /** A client whose HELLO a raw server has received and not answered: the test writes the WELCOME. */
  async function helloReceived(): Promise<{ client: ResilientClient; socket: Socket; connecting: Promise<unknown> }> {
    const raw = new RawServer({ welcome: false });
    const port = await raw.listen();
    const client = new ResilientClient({ host: '127.0.0.1', port, reconnect: false });
    cleanup.push(() => client.close(), () => raw.close());
    const hello = waitFor<[Socket, { type: number }]>(raw.server, 'frame', (_s: Socket, f: { type: number }) => f.type === FrameType.HELLO);
    const connecting = client.connect().catch((e: ResilientError) => e.code);
    const [socket] = await hello;
    return { client, socket, connecting };
  }

  it('a WELCOME with acked 2^53 − 1 while messages are queued is ERR_PROTOCOL; nothing resolves', async () => {
    const { client, socket, connecting } = await helloReceived();
    // Queued while the handshake is pending: none of these has been written.
    const sends = sendAll(client, 3, 10);
    const error = waitFor<[ResilientError]>(client, 'error');
    socket.write(
      encodeJson(FrameType.WELCOME, { sessionId: 'forged', heartbeatMs: 1_000_000, idleTimeoutMs: 1_000_000, maxFrameBytes: 1 << 20, acked: MAX_ID, resumed: true }),
    );
    const [err] = await error;
    expect(err.code).toBe('ERR_PROTOCOL');
    await connecting;
    await sends.settled;
    expect(sends.resolved()).toBe(0);
  });

  it('a WELCOME acking a message to a client that has never sent (no outbound window yet) is ERR_PROTOCOL', async () => {
    const { client, socket, connecting } = await helloReceived();
    const error = waitFor<[ResilientError]>(client, 'error');
    socket.write(
      encodeJson(FrameType.WELCOME, { sessionId: 'forged', heartbeatMs: 1_000_000, idleTimeoutMs: 1_000_000, maxFrameBytes: 1 << 20, acked: 1, resumed: true }),
    );
    const [err] = await error;
    expect(err.code).toBe('ERR_PROTOCOL');
    expect(await connecting).toBe('ERR_PROTOCOL');
  });
});

describe('server: acknowledgements beyond what was written', () => {
  const ctx = useServerWithRawClients({ sessionTtlMs: 60_000 });

  it('an ACK beyond what the server sent drops the connection with ERR_PROTOCOL; the session’s sends stay unresolved', async () => {
    const connected = waitFor<[Session]>(ctx.server, 'connection');
    const raw = await ctx.raw();
    raw.hello({ clientId: 'acker' });
    await raw.nextFrame(FrameType.WELCOME);
    const [session] = await connected;
    let resolved = 0;
    for (let i = 0; i < 3; i++) void session.send('x').then(() => void resolved++, () => undefined);
    await raw.nextFrame(FrameType.DATA);
    raw.socket.write(encodeAck(1000));
    await raw.closed;
    expect(raw.errorCode()).toBe('ERR_PROTOCOL');
    expect(resolved).toBe(0);
    expect(session.outbound.size).toBe(3);
  });

  it('a HELLO whose lastSeen is beyond what the server sent is refused with ERR_PROTOCOL; the queued messages are still delivered on an honest resume', async () => {
    const connected = waitFor<[Session]>(ctx.server, 'connection');
    const first = await ctx.raw();
    first.hello({ clientId: 'owner' });
    const welcome = JSON.parse((await first.nextFrame(FrameType.WELCOME)).payload.toString()) as { sessionId: string };
    const [session] = await connected;
    const gone = waitFor(ctx.server, 'disconnect');
    first.destroy();
    await gone;
    let resolved = 0;
    for (const m of ['m1', 'm2']) void session.send(m).then(() => void resolved++, () => undefined);

    const forger = await ctx.raw();
    forger.hello({ clientId: 'owner', sessionId: welcome.sessionId, lastSeen: MAX_ID });
    await forger.closed;
    expect(forger.errorCode()).toBe('ERR_PROTOCOL');
    expect(resolved).toBe(0);

    const honest = await ctx.raw();
    honest.hello({ clientId: 'owner', sessionId: welcome.sessionId, lastSeen: 0 });
    const w = JSON.parse((await honest.nextFrame(FrameType.WELCOME)).payload.toString()) as { resumed: boolean };
    expect(w.resumed).toBe(true);
    await honest.nextFrame(FrameType.DATA);
    expect(resolved).toBe(0);
  });
});
