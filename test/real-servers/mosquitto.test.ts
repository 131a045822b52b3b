/**
 * The harness and the MQTT 3.1.1 codec (examples/mqtt/mqtt-codec.ts) against a
 * real mosquitto: plain sockets, no ResilientClient.
 */
import { mqttCodec, type MqttPacket } from '../../examples/mqtt/mqtt-codec';
import { CodecSocket, useCodecSockets } from '../support/codec-socket';
import { describeRealServers, useRealServers, type RealServer } from '../support/real-servers';

const KEEPALIVE_S = 30;
let clients = 0;

describeRealServers('mosquitto through the MQTT codec', ['mosquitto'], () => {
  const servers = useRealServers();
  const sockets = useCodecSockets();
  let broker: RealServer;
  beforeAll(async () => {
    broker = await servers.mosquitto();
  });

  /** A connected MQTT client: CONNECT sent and CONNACK (accepted) received. */
  async function connected(): Promise<CodecSocket<MqttPacket>> {
    const s = await sockets.open(broker.port, mqttCodec());
    s.send({ type: 'connect', clientId: `rtcp-test-${process.pid}-${clients++}`, keepaliveS: KEEPALIVE_S, cleanSession: true });
    expect(await s.next()).toEqual({ type: 'connack', sessionPresent: false, returnCode: 0 });
    return s;
  }

  async function subscribed(topic: string): Promise<CodecSocket<MqttPacket>> {
    const s = await connected();
    s.send({ type: 'subscribe', packetId: 7, topics: [topic] });
    expect(await s.next()).toEqual({ type: 'suback', packetId: 7, granted: [0] });
    return s;
  }

  test('CONNECT is answered by CONNACK, PINGREQ by PINGRESP', async () => {
    const s = await connected();
    s.send({ type: 'pingreq' });
    expect(await s.next()).toEqual({ type: 'pingresp' });
  });

  test('a QoS 0 PUBLISH reaches a subscriber, payload bytes intact', async () => {
    const sub = await subscribed('rtcp/+/temp');
    const pub = await connected();
    const payload = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    pub.send({ type: 'publish', topic: 'rtcp/kitchen/temp', payload }, { type: 'publish', topic: 'rtcp/kitchen/humidity', payload });
    pub.send({ type: 'publish', topic: 'rtcp/attic/temp', payload: Buffer.from('21.5') });
    expect(await sub.next()).toEqual({ type: 'publish', topic: 'rtcp/kitchen/temp', payload });
    expect(await sub.next()).toEqual({ type: 'publish', topic: 'rtcp/attic/temp', payload: Buffer.from('21.5') });
  });

  test('a PUBLISH before CONNECT is a protocol error: the broker closes the connection', async () => {
    const s = await sockets.open(broker.port, mqttCodec());
    s.send({ type: 'publish', topic: 'rtcp/early', payload: Buffer.from('lost') });
    await s.closed;
    expect(s.received).toEqual([]);
  });

  test('after a broker restart on the same port a client must CONNECT and SUBSCRIBE again', async () => {
    const before = await subscribed('rtcp/restart');
    await broker.restart();
    await before.closed;
    const sub = await subscribed('rtcp/restart');
    const pub = await connected();
    pub.send({ type: 'publish', topic: 'rtcp/restart', payload: Buffer.from('back') });
    expect(await sub.next()).toEqual({ type: 'publish', topic: 'rtcp/restart', payload: Buffer.from('back') });
  });
});
