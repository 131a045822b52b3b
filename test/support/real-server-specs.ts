/**
 * How to run each real server the test suites use (test/real-servers): the
 * command line and config file for a fresh temp dir and a given port, and the
 * protocol exchange that proves it accepts clients (redis PING -> +PONG, MQTT
 * CONNECT -> CONNACK, IRC NICK/USER -> 001). Never the system service, never a
 * default port: each server binds 127.0.0.1 on the port the harness chose.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lineCodec, type Codec } from '../../src/index';
import { mqttCodec } from '../../examples/mqtt/mqtt-codec';
import { RespError, respCodec } from '../../examples/redis/resp-codec';
import { CodecSocket } from './codec-socket';

/** One kind of server: its binary, its Debian package, how to start it and how to see that it is ready. */
export interface ServerSpec {
  readonly binary: string;
  readonly aptPackage: string;
  /** Arguments for `binary`; writes whatever config file they name into `dir`. */
  args(dir: string, port: number): string[];
  /** One protocol exchange with the server; resolves only if it answered as a ready server does. */
  probe(port: number): Promise<void>;
}

export interface RedisOptions {
  /** Started with `--requirepass`; the probe authenticates with it. */
  password?: string;
  /** More `--name value` arguments. */
  extraArgs?: string[];
}

export interface MosquittoOptions {
  /** More lines for mosquitto.conf. */
  extraConfig?: string[];
}

export interface NgircdOptions {
  /** Seconds of client silence before ngircd sends PING (ngircd refuses less than 5). @default 120 */
  pingTimeoutS?: number;
  /** Seconds ngircd waits for the PONG before it drops the client. @default 20 */
  pongTimeoutS?: number;
  /** @default 30 */
  maxNickLength?: number;
  /** The server name in its messages (`:irc.rtcp.test 001 …`). @default 'irc.rtcp.test' */
  name?: string;
}

/** ngircd's own lower bound on PingTimeout (it raises smaller values to 5 and warns). */
const NGIRCD_MIN_PING_TIMEOUT_S = 5;
let probeCount = 0;

/** Runs `exchange` on a fresh connection and always closes it. */
async function withSocket<M>(port: number, codec: Codec<M>, exchange: (s: CodecSocket<M>) => Promise<void>): Promise<void> {
  const s = await CodecSocket.connect<M>(port, codec);
  try {
    await exchange(s);
  } finally {
    await s.destroy();
  }
}

export function redisSpec(options: RedisOptions = {}): ServerSpec {
  return {
    binary: 'redis-server',
    aptPackage: 'redis-server',
    args: (dir, port) => [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
      ...(options.password === undefined ? [] : ['--requirepass', options.password]),
      ...(options.extraArgs ?? []),
    ],
    probe: (port) =>
      withSocket(port, respCodec(), async (s) => {
        if (options.password !== undefined) {
          s.send(['AUTH', options.password]);
          const ok = await s.next();
          if (ok !== 'OK') throw new Error(`AUTH answered ${JSON.stringify(ok)}`);
        }
        s.send(['PING']);
        const pong = await s.next();
        if (pong !== 'PONG') throw new Error(`PING answered ${pong instanceof RespError ? pong.message : JSON.stringify(pong)}`);
      }),
  };
}

export function mosquittoSpec(options: MosquittoOptions = {}): ServerSpec {
  return {
    binary: 'mosquitto',
    aptPackage: 'mosquitto',
    args: (dir, port) => {
      const file = path.join(dir, 'mosquitto.conf');
      const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ...(options.extraConfig ?? [])];
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      return ['-c', file];
    },
    probe: (port) =>
      withSocket(port, mqttCodec(), async (s) => {
        s.send({ type: 'connect', clientId: `rtcp-probe-${process.pid}-${probeCount++}`, keepaliveS: 10, cleanSession: true });
        const ack = await s.next();
        if (ack.type !== 'connack' || ack.returnCode !== 0) throw new Error(`CONNECT answered ${JSON.stringify(ack)}`);
        s.send({ type: 'disconnect' });
      }),
  };
}

export function ngircdSpec(options: NgircdOptions = {}): ServerSpec {
  const pingTimeoutS = options.pingTimeoutS ?? 120;
  if (pingTimeoutS < NGIRCD_MIN_PING_TIMEOUT_S) throw new TypeError(`pingTimeoutS must be >= ${NGIRCD_MIN_PING_TIMEOUT_S} (ngircd's minimum), got ${pingTimeoutS}`);
  return {
    binary: 'ngircd',
    aptPackage: 'ngircd',
    args: (dir, port) => {
      // Started as root, ngircd drops to "nobody" after reading its config: the
      // PID file's directory must be reachable and writable by that user.
      const run = path.join(dir, 'run');
      const include = path.join(dir, 'conf.d'); // empty: never read /etc/ngircd/conf.d
      fs.mkdirSync(run, { recursive: true });
      fs.mkdirSync(include, { recursive: true });
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(run, 0o777);
      const file = path.join(dir, 'ngircd.conf');
      fs.writeFileSync(
        file,
        [
          '[Global]',
          `Name = ${options.name ?? 'irc.rtcp.test'}`,
          'Info = resilient-tcp test server',
          'AdminInfo1 = resilient-tcp tests',
          'AdminInfo2 = loopback only',
          'AdminEMail = nobody@localhost',
          'Listen = 127.0.0.1',
          `Ports = ${port}`,
          `PidFile = ${path.join(run, 'ngircd.pid')}`,
          'MotdPhrase = "resilient-tcp test server"',
          '[Limits]',
          `PingTimeout = ${pingTimeoutS}`,
          `PongTimeout = ${options.pongTimeoutS ?? 20}`,
          `MaxNickLength = ${options.maxNickLength ?? 30}`,
          'MaxConnections = 0',
          'MaxConnectionsIP = 0',
          '[Options]',
          'DNS = no',
          'Ident = no',
          'PAM = no',
          `IncludeDir = ${include}`,
          '',
        ].join('\n'),
      );
      return ['--nodaemon', '--config', file];
    },
    probe: (port) =>
      withSocket(port, lineCodec({ delimiter: '\r\n' }), async (s) => {
        const nick = `probe${probeCount++}`;
        s.send(`NICK ${nick}`, `USER ${nick} 0 * :readiness probe`);
        const welcome = await s.next((l) => / 001 /.test(l) || l.startsWith('ERROR'));
        if (welcome.startsWith('ERROR')) throw new Error(`registration answered ${welcome}`);
        s.send('QUIT :probe done');
      }),
  };
}
