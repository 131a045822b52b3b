/**
 * The MQTT example (examples/mqtt/mqtt-client.ts) on ResilientClient against
 * a real mosquitto: CONNECT and SUBSCRIBE again on every connection, before
 * anything queued is written.
 */
import { mqttClient, type MqttClientOptions } from '../../examples/mqtt/mqtt-client';
import type { MqttPacket } from '../../examples/mqtt/mqtt-codec';
import type { ResilientClient } from '../../src/index';
import { record, waitFor, waitUntil } from '../support/events';
import { useCleanup } from '../support/lifecycle';
import { FAST_RECOVERY, GATED_HOST, gatedLookup } from '../support/real-server-client';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

const TOPIC = 'rtcp/restart';

describeRealServers('MQTT example client against a real mosquitto', ['mosquitto'], () => {
  const servers = useRealServers();
  const cleanup = useCleanup();
  let broker: RealServer;
  beforeAll(async () => {
    broker = await servers.mosquitto();
  });

  function client(options: Partial<MqttClientOptions> = {}): ResilientClient<MqttPacket> {
    const c = mqttClient({ host: '127.0.0.1', port: broker.port, ...FAST_RECOVERY, ...options });
    c.on('error', () => undefined);
    cleanup.push(() => c.close());
    return c;
  }

  test('a publish queued during a broker restart reaches the subscriber, which subscribed again', async () => {
    const sub = client({ subscribe: [TOPIC] });
    // The publisher's reconnect waits at its lookup until the subscriber is back (QoS 0 is not stored for later).
    const gate = gatedLookup();
    const pub = client({ host: GATED_HOST, lookup: gate.lookup });
    await Promise.all([sub.connect(), pub.connect()]);
    const received = record<[MqttPacket]>(sub, 'message');

    pub.send({ type: 'publish', topic: TOPIC, payload: Buffer.from('before') });
    await waitUntil(sub, ['message'], () => received.length === 1);

    const lost = [waitFor(sub, 'close'), waitFor(pub, 'close')];
    gate.close();
    await broker.stop();
    await Promise.all(lost);
    const queued = pub.send({ type: 'publish', topic: TOPIC, payload: Buffer.from('queued during restart') });
    // Listen before the restart: the subscriber may be back before start() resolves (seen on a fresh CI clone).
    const subBack = waitFor(sub, 'open');
    await broker.start();
    await subBack; // CONNECT, CONNACK, SUBSCRIBE, SUBACK done
    gate.open();
    await queued;
    await waitUntil(sub, ['message'], () => received.length === 2);
    expect(received.map(([p]) => p)).toEqual([
      { type: 'publish', topic: TOPIC, payload: Buffer.from('before') },
      { type: 'publish', topic: TOPIC, payload: Buffer.from('queued during restart') },
    ]);
  });

  test('the broker sees CONNECT first on every connection: a publish queued before connect() is not a protocol error', async () => {
    const sub = client({ subscribe: ['rtcp/first'] });
    await sub.connect();
    const pub = client();
    const sent = pub.send({ type: 'publish', topic: 'rtcp/first', payload: Buffer.from('queued before connect') });
    const closes = record(pub, 'close');
    await pub.connect();
    await sent;
    const [p] = await waitFor<[MqttPacket]>(sub, 'message');
    expect(p).toEqual({ type: 'publish', topic: 'rtcp/first', payload: Buffer.from('queued before connect') });
    expect(closes).toEqual([]);
  });
});
