/**
 * A QoS 0 MQTT 3.1.1 client on ResilientClient and the MQTT codec
 * (mqtt-codec.ts). On every connection the handshake sends CONNECT, waits for
 * CONNACK, and SUBSCRIBEs again (a clean session forgets subscriptions: §3.1.2.4),
 * all before anything queued is written, so a PUBLISH queued during an outage
 * never reaches a broker ahead of CONNECT (a protocol error: §3.1.0). The
 * heartbeat is PINGREQ/PINGRESP (§3.12, §3.13); CONNECT's keep alive is set
 * so the broker's own deadline (1.5 × keep alive, §3.1.2.10) is never the
 * first to fire.
 *
 *   MQTT_PORT=1883 npx tsx examples/mqtt/mqtt-client.ts [port]
 */
import { randomBytes } from 'node:crypto';
import { ResilientError, ResilientClient, type HandshakeLink } from '../../src/index';
import type { ConnectionOptions } from '../shared/client-types';
import { mqttCodec, type MqttPacket } from './mqtt-codec';

export interface MqttClientOptions extends ConnectionOptions<MqttPacket> {
  /** @default 'rtcp-' and 12 random hex digits */
  mqttClientId?: string;
  /** Topic filters subscribed (QoS 0) on every connection. @default [] */
  subscribe?: string[];
  username?: string;
  password?: string;
  /** Heartbeat interval and silence bound, in ms. @default { intervalMs: 5000, timeoutMs: 15000 } */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** 'confirmed': publish() resolves once the broker answered a later PINGREQ. @default 'written' */
  delivery?: 'written' | 'confirmed';
}

const DEFAULT_HEARTBEAT = { intervalMs: 5000, timeoutMs: 15000 };
/** §3.2.2.3 CONNACK return codes 4 (bad user name or password) and 5 (not authorized). */
const AUTH_REFUSED = new Set([4, 5]);
/** §3.2.2.3 return code 3: server unavailable, worth a retry. */
const SERVER_UNAVAILABLE = 3;
/** §3.9.3: a SUBACK return code of 0x80 is a refused subscription. */
const SUBSCRIBE_FAILURE = 0x80;
/** The packet identifier of our SUBSCRIBE (§2.3.1: non-zero); one SUBSCRIBE per connection. */
const SUBSCRIBE_ID = 1;

/** CONNECT → CONNACK, then SUBSCRIBE → SUBACK, on one connection. */
export async function mqttHandshake(link: HandshakeLink<MqttPacket>, connect: Extract<MqttPacket, { type: 'connect' }>, topics: string[]): Promise<void> {
  link.send(connect);
  const ack = await link.receive();
  if (ack.type !== 'connack') throw new ResilientError('ERR_PROTOCOL', `MQTT: expected CONNACK, got ${ack.type}`, 'unavailable');
  if (AUTH_REFUSED.has(ack.returnCode)) throw new ResilientError('ERR_AUTH', `MQTT CONNECT refused (return code ${ack.returnCode})`, 'fatal');
  if (ack.returnCode !== 0) {
    const kind = ack.returnCode === SERVER_UNAVAILABLE ? 'unavailable' : 'fatal';
    throw new ResilientError('ERR_PROTOCOL', `MQTT CONNECT refused (return code ${ack.returnCode})`, kind);
  }
  if (topics.length === 0) return;
  link.send({ type: 'subscribe', packetId: SUBSCRIBE_ID, topics });
  const sub = await link.receive((m) => m.type === 'suback' && m.packetId === SUBSCRIBE_ID);
  if (sub.type === 'suback' && sub.granted.includes(SUBSCRIBE_FAILURE)) {
    throw new ResilientError('ERR_PROTOCOL', `MQTT SUBSCRIBE refused for ${topics.join(', ')}`, 'fatal');
  }
}

/** An MQTT client connection: publish with `client.send({ type: 'publish', topic, payload })`, receive PUBLISH packets as messages. */
export function mqttClient(options: MqttClientOptions): ResilientClient<MqttPacket> {
  const { mqttClientId = `rtcp-${randomBytes(6).toString('hex')}`, subscribe = [], username, password, heartbeat = DEFAULT_HEARTBEAT, delivery = 'written', ...connection } = options;
  const connect: Extract<MqttPacket, { type: 'connect' }> = {
    type: 'connect',
    clientId: mqttClientId,
    // Our silence bound, rounded up: the broker's 1.5x deadline comes after ours.
    keepaliveS: Math.ceil(heartbeat.timeoutMs / 1000),
    cleanSession: true,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  return new ResilientClient<MqttPacket>({
    ...connection,
    codec: mqttCodec(),
    heartbeat: { ...heartbeat, createPing: () => ({ type: 'pingreq' }), isPong: (m) => m.type === 'pingresp' },
    handshake: (link) => mqttHandshake(link, connect, subscribe),
    delivery,
  });
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.MQTT_PORT ?? 1883);
  const mqtt = mqttClient({ host: '127.0.0.1', port, subscribe: ['rtcp/#'] });
  mqtt.on('stateChange', ({ from, to, reason }) => console.log(`-- ${from} -> ${to}${reason ? ` (${reason.code})` : ''}`));
  mqtt.on('message', (p) => p.type === 'publish' && console.log(`${p.topic}: ${p.payload.toString()}`));
  let n = 0;
  const timer = setInterval(() => void mqtt.send({ type: 'publish', topic: 'rtcp/ticks', payload: Buffer.from(`tick ${++n}`) }), 1000);
  process.on('SIGINT', () => {
    clearInterval(timer);
    void mqtt.close();
  });
  mqtt.connect().catch((err: { code?: string; message?: string }) => {
    console.log(`-- ${err.code}: ${err.message}`);
    clearInterval(timer);
    void mqtt.close();
  });
}
