/**
 * The server side of a run, one epoch per HeartbeatServer process (see
 * delivery-ledger.ts): the first server listens on a free port on 127.0.0.1;
 * at a third and at two thirds of the chaos phase it is closed (all sessions
 * lost) and, after a short downtime, a new one listens on the same port.
 */
import { performance } from 'node:perf_hooks';
import { HeartbeatServer, type Session } from '../../src/server';
import type { Ledger } from './delivery-ledger';
import type { Dice } from './dice';
import { FORBIDDEN_CODES, RESTART_DOWNTIME_MS, SERVER_IDLE_MS, SERVER_SWEEP_MS } from './parameters';

/** The current server and its epoch; every field changes only through start() and the restarts. */
export class ServerEpochs {
  epoch = 0;
  server!: HeartbeatServer;
  port = 0;
  restarts = 0;
  /** Stale connections the servers evicted because their session reconnected first (ERR_SESSION_TAKEN_OVER). */
  takeovers = 0;
  /** Sessions of the current server, for the server → client traffic. */
  readonly sessions = new Set<Session>();

  constructor(
    private readonly ledger: Ledger,
    private readonly dice: Dice,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts epoch 0's server on a free port. */
  async start(): Promise<void> {
    this.server = await this.startServer(0);
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Restarts the server at a third and two thirds of the chaos phase (`seconds` long), which this awaits. */
  async restartTwice(seconds: number): Promise<void> {
    let restarting: Promise<void> = Promise.resolve();
    const timers = [1 / 3, 2 / 3].map((at) =>
      setTimeout(() => {
        restarting = restarting
          .then(() => this.restart())
          .catch((err: unknown) => this.ledger.violation(`restart failed: ${(err as Error).stack ?? String(err)}`));
      }, at * seconds * 1000),
    );
    await new Promise((r) => setTimeout(r, seconds * 1000));
    for (const t of timers) clearTimeout(t);
    await restarting;
  }

  private async restart(): Promise<void> {
    this.ledger.closeStartedAt[this.epoch] = performance.now();
    this.log(`soak: restarting the server (epoch ${this.epoch} -> ${this.epoch + 1})`);
    await this.server.close();
    await new Promise((r) => setTimeout(r, this.dice.between(RESTART_DOWNTIME_MS)));
    this.epoch++;
    this.server = await this.startServer(this.port);
    this.restarts++;
  }

  private async startServer(port: number): Promise<HeartbeatServer> {
    const e = this.epoch;
    const s = new HeartbeatServer({
      host: '127.0.0.1',
      port,
      idleTimeoutMs: SERVER_IDLE_MS,
      sweepIntervalMs: SERVER_SWEEP_MS,
      handshakeTimeoutMs: SERVER_IDLE_MS,
    });
    s.on('message', (session, payload, meta) => this.ledger.onUp(e, session.clientId, meta.id, payload));
    s.on('connection', (session) => this.sessions.add(session));
    s.on('sessionEnd', (session) => this.sessions.delete(session));
    s.on('error', (err) => {
      if (err.code === 'ERR_SESSION_TAKEN_OVER') this.takeovers++;
      else if (FORBIDDEN_CODES.has(err.code)) this.ledger.violation(`server epoch ${e}: ${err.code} ${err.message}`);
    });
    await s.listen();
    return s;
  }
}
