/**
 * The publish gate: a message is built only while its channel has a
 * subscriber, so an unobserved client pays one property read per event.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNEL_NAMES, channels, publish } from '../../src/io/diagnostics';

describe('publish', () => {
  it('never calls build without a subscriber; builds and delivers once per publish with one', () => {
    let built = 0;
    const build = () => (built++, { client: {}, rttMs: 1 });
    publish(channels.clientHeartbeat, build);
    expect(built).toBe(0);

    const seen: unknown[] = [];
    const fn = (m: unknown): void => void seen.push(m);
    diagnosticsChannel.subscribe(CHANNEL_NAMES.clientHeartbeat, fn);
    try {
      publish(channels.clientHeartbeat, build);
      expect(built).toBe(1);
      expect(seen).toEqual([{ client: {}, rttMs: 1 }]);
    } finally {
      diagnosticsChannel.unsubscribe(CHANNEL_NAMES.clientHeartbeat, fn);
    }
    publish(channels.clientHeartbeat, build);
    expect(built).toBe(1);
  });

  it('every channel is named resilient-tcp:<client|server>:<event> and is the one node returns for that name', () => {
    for (const [key, name] of Object.entries(CHANNEL_NAMES)) {
      expect(name).toMatch(/^resilient-tcp:(client|server):[a-zA-Z]+$/);
      expect(diagnosticsChannel.channel(name)).toBe(channels[key as keyof typeof channels]);
    }
  });
});
