import { HandshakeInbox } from '../../src/core/handshake-inbox';
import { InboundHooks, routeInbound } from '../../src/core/inbound-route';
import { PingLedger } from '../../src/core/pong';

// The IRC hooks of docs/client.md: our pings are "PING :rt<seq>", the server's are answered.
const irc: InboundHooks<string> = {
  isPong: (m) => {
    const x = / PONG \S+ :rt(\d+)$/.exec(m);
    return x ? Number(x[1]) : false;
  },
  answer: (m) => (m.startsWith('PING ') ? `PONG ${m.slice(5)}` : undefined),
};

describe('routeInbound', () => {
  it("answers the server's ping, during the handshake too, without giving it to the handshake", async () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    const next = inbox.receive();
    expect(routeInbound('PING :irc.example', irc, new PingLedger(), inbox, 0)).toEqual({ kind: 'answer', reply: 'PONG :irc.example' });
    expect(inbox.buffered).toBe(0);
    expect(routeInbound(':srv 001 alice :Welcome', irc, new PingLedger(), inbox, 0)).toEqual({ kind: 'handshake' });
    await expect(next).resolves.toBe(':srv 001 alice :Welcome');
  });

  it('a pong for one of our pings is a pong with its RTT; a numbered reply to none of ours is a message', () => {
    const pings = new PingLedger();
    pings.sent(100, 7);
    expect(routeInbound(':srv PONG srv :rt0', irc, pings, undefined, 130)).toEqual({ kind: 'pong', match: { seq: 0, rttMs: 30, mark: 7 } });
    // The app's own "PING :rt5" (no such ping of ours): its reply reaches the app.
    expect(routeInbound(':srv PONG srv :rt5', irc, pings, undefined, 140)).toEqual({ kind: 'message' });
  });

  it('during the handshake an unwanted message waits in the handshake; after it ends, messages go to the app', () => {
    const inbox = new HandshakeInbox<string>(new AbortController().signal);
    expect(routeInbound(':srv NOTICE * :hi', irc, new PingLedger(), inbox, 0)).toEqual({ kind: 'handshake' });
    expect(inbox.end()).toEqual([':srv NOTICE * :hi']); // never emitted
    expect(routeInbound(':bob PRIVMSG #room :hi', irc, new PingLedger(), inbox, 0)).toEqual({ kind: 'message' });
    expect(routeInbound(':bob PRIVMSG #room :hi', irc, new PingLedger(), undefined, 0)).toEqual({ kind: 'message' });
  });

  it('without hooks everything is a message; a null answer is no answer; hook errors propagate', () => {
    expect(routeInbound('x', {}, new PingLedger(), undefined, 0)).toEqual({ kind: 'message' });
    expect(routeInbound('x', { answer: () => null }, new PingLedger(), undefined, 0)).toEqual({ kind: 'message' });
    const boom = new Error('hook bug');
    expect(() =>
      routeInbound(
        'x',
        {
          isPong: () => {
            throw boom;
          },
        },
        new PingLedger(),
        undefined,
        0,
      ),
    ).toThrow(boom);
  });
});
