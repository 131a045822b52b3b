import { ERRNO_KINDS, ErrorCodes, ResilientError, classifyError, errnoName, resetsSocket, retriesAtOnce } from '../../src/core/errors';

/** The DESIGN.md table, with the Linux POSIX number and the Winsock number of each name. */
const TABLE: Array<[string, string, number | undefined, number | undefined]> = [
  ['ECONNRESET', 'transient', 104, 10054],
  ['ECONNABORTED', 'transient', 103, 10053],
  ['EPIPE', 'transient', 32, undefined],
  ['ECONNREFUSED', 'unavailable', 111, 10061],
  ['ETIMEDOUT', 'unavailable', 110, 10060],
  ['EHOSTUNREACH', 'network', 113, 10065],
  ['ENETDOWN', 'network', 100, 10050],
  ['ENETUNREACH', 'network', 101, 10051],
  ['EHOSTDOWN', 'network', 112, 10064],
  ['EAI_AGAIN', 'network', undefined, undefined],
  ['ENOTFOUND', 'network', undefined, undefined],
  ['EACCES', 'fatal', 13, 10013],
];

describe('classifyError', () => {
  for (const [name, kind, posix, wsa] of TABLE) {
    it(`${name} is ${kind} by name, by error object, by number`, () => {
      expect(classifyError(name)).toBe(kind);
      const err = Object.assign(new Error('x'), { code: name });
      expect(classifyError(err)).toBe(kind);
      expect(ERRNO_KINDS[name]).toBe(kind);
      if (posix !== undefined) {
        expect(errnoName(posix)).toBe(name);
        expect(errnoName(-posix)).toBe(name); // Node's negative errno (libuv, Linux)
        expect(classifyError(posix)).toBe(kind);
        expect(classifyError(-posix)).toBe(kind);
        expect(classifyError({ errno: -posix })).toBe(kind);
      }
      if (wsa !== undefined) {
        expect(errnoName(wsa)).toBe(name);
        expect(classifyError(wsa)).toBe(kind);
      }
    });
  }

  it('the errno Node gives a failed DNS lookup (-3008, EAI_NONAME) is network', () => {
    expect(classifyError(-3008)).toBe('network');
    expect(classifyError({ code: 'ENOTFOUND', errno: -3008 })).toBe('network');
  });

  it('a TLS handshake timeout is retried; other TLS errors are fatal', () => {
    expect(classifyError('ERR_TLS_HANDSHAKE_TIMEOUT')).toBe('unavailable');
    expect(classifyError('ERR_SSL_WRONG_VERSION_NUMBER')).toBe('fatal');
  });

  it('classifies the SDK codes', () => {
    expect(classifyError('ERR_HEARTBEAT_TIMEOUT')).toBe('transient');
    expect(classifyError('ERR_CONNECT_TIMEOUT')).toBe('unavailable');
    expect(classifyError('ERR_AUTH')).toBe('fatal');
    expect(classifyError('ERR_PROTOCOL_VERSION')).toBe('fatal');
  });

  it('TLS certificate errors are fatal', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN']) {
      expect(classifyError(Object.assign(new Error(code), { code }))).toBe('fatal');
    }
  });

  it('unknown errors are unavailable: retried with backoff, never in a tight loop', () => {
    expect(classifyError(new Error('what'))).toBe('unavailable');
    expect(classifyError('EWHATEVER')).toBe('unavailable');
    expect(classifyError(undefined)).toBe('unavailable');
  });

  it('ResilientError.from keeps the errno name as code and the original as cause', () => {
    const orig = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const e = ResilientError.from(orig);
    expect(e).toBeInstanceOf(ResilientError);
    expect(e.code).toBe('ECONNREFUSED');
    expect(e.kind).toBe('unavailable');
    expect(e.cause).toBe(orig);
    expect(ResilientError.from(e)).toBe(e);
  });

  it('a thrown value without a code is wrapped as ERR_UNKNOWN, one of the ErrorCodes', () => {
    const e = ResilientError.from(new Error('thrown without a code'));
    expect(e.code).toBe(ErrorCodes.UNKNOWN);
    expect(Object.values(ErrorCodes)).toContain(e.code);
    expect(e.kind).toBe('unavailable');
  });
});

describe('ERR_NETWORK_CHANGED', () => {
  it('is a network error that resets the socket and, alone among network errors, retries at once', () => {
    expect(ErrorCodes.NETWORK_CHANGED).toBe('ERR_NETWORK_CHANGED');
    expect(classifyError('ERR_NETWORK_CHANGED')).toBe('network');
    expect(resetsSocket('ERR_NETWORK_CHANGED')).toBe(true);
    expect(retriesAtOnce('ERR_NETWORK_CHANGED')).toBe(true);
    for (const other of ['ENETUNREACH', 'EHOSTUNREACH', 'ERR_CONNECTION_LOST', 'ERR_SERVER_BYE']) expect(retriesAtOnce(other)).toBe(false);
  });
});
