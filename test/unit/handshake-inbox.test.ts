import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { HANDSHAKE_BUFFER_MESSAGES, HandshakeInbox } from '../../src/core/handshake-inbox';
import { ResilientError, sdkError } from '../../src/core/errors';

const settled = async <T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown } | 'pending'> => {
  const marker = Symbol('pending');
  const r = await Promise.race([p.then((ok) => ({ ok }), (err: unknown) => ({ err })), Promise.resolve().then(() => marker)]);
  return r === marker ? 'pending' : (r as { ok: T } | { err: unknown });
};

describe('HandshakeInbox', () => {
  it('resolves a waiting receive with the next message that matches; the others wait in the buffer', async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    const welcome = inbox.receive((m) => / 001 /.test(m));
    expect(inbox.push(':srv NOTICE * :Looking up your hostname')).toBe(true);
    expect(inbox.push(':srv 001 alice :Welcome')).toBe(true);
    await expect(welcome).resolves.toBe(':srv 001 alice :Welcome');
    expect(inbox.buffered).toBe(1);
    await expect(inbox.receive()).resolves.toBe(':srv NOTICE * :Looking up your hostname');
    expect(inbox.buffered).toBe(0);
  });

  it('takes an already buffered message at once, oldest matching first', async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    for (const m of ['a1', 'b1', 'a2']) inbox.push(m);
    await expect(inbox.receive((m) => m.startsWith('a'))).resolves.toBe('a1');
    await expect(inbox.receive((m) => m.startsWith('a'))).resolves.toBe('a2');
    expect(inbox.end()).toEqual(['b1']);
  });

  it('serves concurrent receives first come, first served', async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    const first = inbox.receive();
    const second = inbox.receive();
    inbox.push('x');
    inbox.push('y');
    await expect(first).resolves.toBe('x');
    await expect(second).resolves.toBe('y');
  });

  it('rejects a receive whose match throws, and keeps serving the others', async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    const boom = new Error('bad match');
    const broken = inbox.receive(() => {
      throw boom;
    });
    const fine = inbox.receive();
    inbox.push('m');
    await expect(broken).rejects.toBe(boom);
    await expect(fine).resolves.toBe('m');
    inbox.push('n');
    await expect(
      inbox.receive(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it(`holds ${HANDSHAKE_BUFFER_MESSAGES} unwanted messages; one more fails the handshake with ERR_PROTOCOL`, async () => {
    const inbox = new HandshakeInbox<number>(new AbortController().signal);
    const never = inbox.receive((m) => m < 0);
    for (let i = 0; i < HANDSHAKE_BUFFER_MESSAGES; i++) inbox.push(i);
    expect(inbox.running).toBe(true);
    let thrown: unknown;
    try {
      inbox.push(HANDSHAKE_BUFFER_MESSAGES);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ResilientError);
    expect((thrown as ResilientError).code).toBe('ERR_PROTOCOL');
    await expect(never).rejects.toBe(thrown);
    await expect(inbox.receive()).rejects.toBe(thrown);
    expect(inbox.running).toBe(false);
    expect(inbox.buffered).toBe(0);
    expect(inbox.push(1)).toBe(true); // the connection is closing: swallowed, never emitted
  });

  it('rejects waiting and later receives with the abort reason when the signal aborts (deadline, connection lost)', async () => {
    const ac = new AbortController();
    const inbox = new HandshakeInbox<string>(ac.signal);
    const waiting = inbox.receive();
    const timeout = sdkError('ERR_CONNECT_TIMEOUT', 'handshake did not finish within connectTimeoutMs');
    ac.abort(timeout);
    await expect(waiting).rejects.toBe(timeout);
    await expect(inbox.receive()).rejects.toBe(timeout);
    expect(inbox.running).toBe(false);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('turns a reason that is not a ResilientError into a transient ERR_CONNECTION_LOST', async () => {
    const ac = new AbortController();
    ac.abort(); // DOMException AbortError: must not become a fatal error
    const inbox = new HandshakeInbox<string>(ac.signal);
    const err = (await settled(inbox.receive())) as { err: ResilientError };
    expect(err.err.code).toBe('ERR_CONNECTION_LOST');
    expect(err.err.kind).toBe('transient');
    expect(inbox.running).toBe(false);
  });

  it('after end(): takes nothing more, returns what it buffered, rejects receives with ERR_CLOSED, drops its listener', async () => {
    const ac = new AbortController();
    const inbox = new HandshakeInbox<string>(ac.signal);
    const forgotten = inbox.receive((m) => m === 'never');
    inbox.push('motd');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    expect(inbox.end()).toEqual(['motd']);
    expect(inbox.end()).toEqual([]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(inbox.running).toBe(false);
    await expect(forgotten).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(inbox.receive()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(inbox.push('hello app')).toBe(false); // the caller emits it as an ordinary message
    ac.abort(); // no effect after the end
  });

  it('a receive the handshake left behind raises no unhandled rejection when the handshake ends or aborts', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const ended = new HandshakeInbox<string>(new AbortController().signal);
      void ended.receive((m) => m === 'ERR'); // the losing branch of a race, never awaited again
      ended.end();
      const ac = new AbortController();
      const aborted = new HandshakeInbox<string>(ac.signal);
      void aborted.receive();
      ac.abort(sdkError('ERR_CONNECTION_LOST', 'lost'));
      void aborted.receive();
      // unhandledRejection is reported after the microtask queue drains: wait a macrotask.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a receive still pending stays pending until a message, abort or end (no timer of its own)', async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    const p = inbox.receive();
    expect(await settled(p)).toBe('pending');
    inbox.push('m');
    expect(await settled(p)).toEqual({ ok: 'm' });
  });

  it('property: every message pushed is taken once, by the oldest waiting receive it matches, else buffered, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }).map((n) => ({ push: n })), fc.integer({ min: 0, max: 3 }).map((mod) => ({ receive: mod }))), {
          maxLength: 60,
          size: 'medium',
        }),
        async (ops) => {
          const inbox = new HandshakeInbox<{ n: number; i: number }>(new AbortController().signal);
          // A model: receive(mod) wants n % 4 === mod (mod 0 wants anything).
          const wants = (mod: number) => (m: { n: number }) => mod === 0 || m.n % 4 === mod;
          const model: { buffer: Array<{ n: number; i: number }>; waiters: Array<{ mod: number; got?: number }> } = { buffer: [], waiters: [] };
          const results: Array<Promise<{ n: number; i: number }>> = [];
          let i = 0;
          for (const op of ops) {
            if ('push' in op) {
              const m = { n: op.push, i: i++ };
              inbox.push(m);
              const w = model.waiters.find((x) => x.got === undefined && wants(x.mod)(m));
              if (w) w.got = m.i;
              else model.buffer.push(m);
            } else {
              results.push(inbox.receive(wants(op.receive)));
              const w: { mod: number; got?: number } = { mod: op.receive };
              const at = model.buffer.findIndex(wants(op.receive));
              if (at >= 0) w.got = (model.buffer.splice(at, 1)[0] as { i: number }).i;
              model.waiters.push(w);
            }
          }
          const left = inbox.end().map((m) => m.i);
          expect(left).toEqual(model.buffer.map((m) => m.i));
          const got = await Promise.all(results.map((p) => p.then((m) => m.i, () => undefined)));
          expect(got).toEqual(model.waiters.map((w) => w.got));
          const taken = [...got.filter((x) => x !== undefined), ...left];
          expect(new Set(taken).size).toBe(taken.length); // nobody got a message twice
          expect(taken.length).toBe(i); // and none was lost
        },
      ),
    );
  });
});
