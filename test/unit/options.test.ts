import { ResilientClient } from '../../src';
import { HeartbeatServer } from '../../src/server';
import { clientIdText, newClientId } from '../../src/client/client-id';
import { resolveOptions } from '../../src/client/options';
import { lineCodec } from '../../src/protocol/codec';

const codecPing = { codec: lineCodec(), heartbeat: { createPing: (n: number) => `PING ${n}`, isPong: (m: string) => m === 'PONG' } };

describe('client options', () => {
  it.each([
    [{ port: 0 }, /options\.port must be an integer >= 1 and <= 65535, got 0/],
    [{ port: 70000 }, /options\.port .* got 70000/],
    [{ port: 1.5 }, /options\.port/],
    [{ port: '80' }, /options\.port .* got "80"/],
    [{}, /options\.port .* got undefined/],
    [{ port: 1, host: '' }, /options\.host must be a non-empty string/],
    [{ port: 1, heartbeat: { intervalMs: -1 } }, /options\.heartbeat\.intervalMs must be a number > 0, got -1/],
    [{ port: 1, heartbeat: { intervalMs: 1000, timeoutMs: 1000 } }, /options\.heartbeat\.timeoutMs must be greater than heartbeat\.intervalMs \(1000\), got 1000/],
    [{ port: 1, heartbeat: { intervalMs: 1000, timeoutMs: 500 } }, /options\.heartbeat\.timeoutMs/],
    [{ port: 1, connectTimeoutMs: 0 }, /options\.connectTimeoutMs/],
    [{ port: 1, reconnect: { maxRetries: -1 } }, /options\.reconnect\.maxRetries/],
    [{ port: 1, reconnect: { maxRetries: 1.5 } }, /options\.reconnect\.maxRetries/],
    [{ port: 1, reconnect: { jitter: 'lots' } }, /options\.reconnect\.jitter must be one of full, equal, decorrelated, none, got "lots"/],
    [{ port: 1, reconnect: { multiplier: 0.5 } }, /options\.reconnect\.multiplier/],
    [{ port: 1, reconnect: { initialDelayMs: 100, maxDelayMs: 50 } }, /options\.reconnect\.maxDelayMs must be a number >= 100, got 50/],
    [{ port: 1, queue: { maxMessages: 0 } }, /options\.queue\.maxMessages/],
    [{ port: 1, queue: { overflow: 'block' } }, /options\.queue\.overflow/],
    [{ port: 1, maxFrameBytes: 10 }, /options\.maxFrameBytes/],
    [{ port: 1, endpoints: [] }, /options\.endpoints must be a non-empty array/],
    [{ endpoints: [{ host: 'a', port: -1 }] }, /options\.endpoints\[0\]\.port/],
    [{ port: 1, clientId: '' }, /options\.clientId/],
    [{ port: 1, networkCheckMs: 0 }, /options\.networkCheckMs/],
    [{ port: 1, networkCheckMs: true }, /options\.networkCheckMs/],
    [{ port: 1, token: 5 }, /options\.token must be a string/],
    [{ port: 1, signal: {} }, /options\.signal must be an AbortSignal/],
    [{ port: 1, logger: { info() {} } }, /options\.logger\.debug must be a function/],
    [{ port: 1, handshake: 'login' }, /options\.handshake must be a function/],
    [{ port: 1, ...codecPing, heartbeat: { ...codecPing.heartbeat, answer: 'PONG' } }, /options\.heartbeat\.answer must be a function/],
    [{ port: 1, heartbeat: { answer: () => undefined } }, /options\.heartbeat\.answer must be a function, with a codec/],
    [{ port: 1, ...codecPing, delivery: 'acked' }, /options\.delivery must be 'written' or 'confirmed', got "acked"/],
    [{ port: 1, delivery: 'confirmed' }, /options\.delivery must be 'written' unless a codec/],
    [{ port: 1, codec: lineCodec(), heartbeat: { mode: 'inbound' }, delivery: 'confirmed' }, /options\.delivery/],
    [{ port: 1, codec: lineCodec(), heartbeat: false, delivery: 'confirmed' }, /options\.delivery/],
  ])('%j throws a TypeError naming the option', (opts, message) => {
    expect(() => new ResilientClient(opts as never)).toThrow(TypeError);
    expect(() => new ResilientClient(opts as never)).toThrow(message);
  });

  it('fills in documented defaults', () => {
    const o = resolveOptions({ port: 7 });
    expect(o.endpoints).toEqual([{ host: 'localhost', port: 7 }]);
    expect(o.heartbeat).toEqual({ intervalMs: 5000, timeoutMs: 15000, mode: 'ping' });
    expect(o.reconnect).toMatchObject({ enabled: true, maxRetries: Infinity, initialDelayMs: 500, maxDelayMs: 30000, multiplier: 2, jitter: 'full', resetAfterMs: 5000 });
    expect(o.keepAliveMs).toBe(15000);
    expect(o.queue).toEqual({ maxMessages: 10000, maxBytes: 16 * 1024 * 1024, overflow: 'reject' });
    expect(o.connectTimeoutMs).toBe(10000);
    expect(o.maxFrameBytes).toBe(1024 * 1024);
    expect(o.delivery).toBe('written');
    expect(o.handshake).toBeUndefined();
  });

  it("accepts delivery 'confirmed' with a codec's ping and pong, and heartbeat.answer in 'inbound' mode", () => {
    expect(resolveOptions({ port: 7, ...codecPing, delivery: 'confirmed' }).delivery).toBe('confirmed');
    const answer = (m: string): string | undefined => (m === 'PING' ? 'PONG' : undefined);
    expect(resolveOptions({ port: 7, codec: lineCodec(), heartbeat: { mode: 'inbound', answer } }).heartbeat).toMatchObject({ mode: 'inbound', answer });
  });

  it('a longer interval raises the default timeout to three intervals', () => {
    expect(resolveOptions({ port: 7, heartbeat: { intervalMs: 10_000 } }).heartbeat).toEqual({ intervalMs: 10000, timeoutMs: 30000, mode: 'ping' });
  });
});

describe('server options', () => {
  it.each([
    [{ port: -1 }, /options\.port/],
    [{ idleTimeoutMs: 0 }, /options\.idleTimeoutMs/],
    [{ maxConnections: 0 }, /options\.maxConnections/],
    [{ maxSessions: 0 }, /options\.maxSessions/],
    [{ slowConsumerMs: 0 }, /options\.slowConsumerMs/],
    [{ maxSessions: 1.5 }, /options\.maxSessions/],
    [{ maxFrameBytes: 100 }, /options\.maxFrameBytes/],
    [{ heartbeatMs: 5000, idleTimeoutMs: 1000 }, /options\.heartbeatMs must be less than idleTimeoutMs/],
    [{ authenticate: 'yes' }, /options\.authenticate must be a function/],
    [{ sessionTtlMs: -5 }, /options\.sessionTtlMs/],
    // The queue is checked by the same code as the client's (src/core/validate.ts); a non-object was ignored before.
    [{ queue: 5 }, /options\.queue must be an object/],
    [{ queue: { overflow: 'drop' } }, /options\.queue\.overflow/],
    [{ queue: { maxMessages: 0 } }, /options\.queue\.maxMessages/],
  ])('%j throws a TypeError naming the option', (opts, message) => {
    expect(() => new HeartbeatServer(opts as never)).toThrow(TypeError);
    expect(() => new HeartbeatServer(opts as never)).toThrow(message);
  });
});

describe('resolved options equal to the defaults are shared (memory per client)', () => {
  it('two clients with default heartbeat, reconnect and queue get the same frozen objects; a changed one gets its own', () => {
    const a = resolveOptions({ port: 1 });
    const b = resolveOptions({ port: 2, heartbeat: {}, reconnect: { maxRetries: Infinity }, queue: { overflow: 'reject' } });
    expect(b.heartbeat).toBe(a.heartbeat);
    expect(b.reconnect).toBe(a.reconnect);
    expect(b.queue).toBe(a.queue);
    for (const o of [a.heartbeat, a.reconnect, a.queue]) expect(Object.isFrozen(o)).toBe(true);
    const c = resolveOptions({ port: 3, heartbeat: { intervalMs: 1000 }, reconnect: { initialDelayMs: 10 }, queue: { maxMessages: 5 } });
    expect(c.heartbeat).not.toBe(a.heartbeat);
    expect(c.reconnect).not.toBe(a.reconnect);
    expect(c.queue).not.toBe(a.queue);
    expect(c.heartbeat).toMatchObject({ intervalMs: 1000, timeoutMs: 15_000 });
    expect(c.reconnect).toMatchObject({ initialDelayMs: 10, enabled: true });
    expect(c.queue).toMatchObject({ maxMessages: 5, overflow: 'reject' });
    expect(resolveOptions({ port: 4, reconnect: false }).reconnect).toMatchObject({ enabled: false });
  });
});

describe('resolved options are one frozen object for every client built from equal options (memory per client)', () => {
  it('equal options, even from different objects, resolve to the same frozen object; the client id stays per client', () => {
    const a = resolveOptions({ host: '127.0.0.1', port: 9 });
    const b = resolveOptions({ port: 9, host: '127.0.0.1', heartbeat: {} });
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.endpoints)).toBe(true);
    expect(Object.isFrozen(a.endpoints[0])).toBe(true);
    const [x, y] = [clientIdText(newClientId(undefined)), clientIdText(newClientId(undefined))];
    expect(x).not.toBe(y);
    for (const id of [x, y]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(clientIdText(newClientId('mine'))).toBe('mine');
  });

  it('a value that differs, a different function or object, or a signal gives its own object', () => {
    const a = resolveOptions({ host: '127.0.0.1', port: 9 });
    expect(resolveOptions({ host: '127.0.0.1', port: 10 })).not.toBe(a);
    expect(resolveOptions({ host: '127.0.0.1', port: 9, heartbeat: { intervalMs: 1000 } })).not.toBe(a);
    const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const withLogger = resolveOptions({ host: '127.0.0.1', port: 9, logger });
    expect(withLogger).not.toBe(a);
    expect(resolveOptions({ host: '127.0.0.1', port: 9, logger })).toBe(withLogger);
    expect(resolveOptions({ host: '127.0.0.1', port: 9, logger: { ...logger } })).not.toBe(withLogger);
    const signal = new AbortController().signal;
    const own = resolveOptions({ host: '127.0.0.1', port: 9, signal });
    expect(own.signal).toBe(signal);
    expect(resolveOptions({ host: '127.0.0.1', port: 9, signal })).not.toBe(own);
  });
});
