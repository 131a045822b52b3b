/**
 * A line-protocol server on 127.0.0.1 for codec tests: records, per
 * connection, every line in and out in the order they happened, and lets a
 * test decide each connection's replies with `onLine`.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';

export interface LineConn {
  /** 1 for the first connection accepted, rising. */
  readonly n: number;
  readonly socket: net.Socket;
  /** `<line` for a line received, `>line` for a line sent, in order. */
  readonly log: string[];
  send(line: string): void;
}

export class LineServer extends EventEmitter {
  readonly server = net.createServer();
  readonly conns: LineConn[] = [];
  /** Called for every line received; by default answers `PING x` with `PONG x`. */
  onLine: (conn: LineConn, line: string) => void = (c, line) => {
    if (line.startsWith('PING ')) c.send(`PONG ${line.slice(5)}`);
  };
  /** Called when a connection is accepted. */
  onConnection: (conn: LineConn) => void = () => {};

  constructor() {
    super();
    this.server.on('connection', (socket) => {
      const log: string[] = [];
      const conn: LineConn = {
        n: this.conns.length + 1,
        socket,
        log,
        send: (line) => {
          if (socket.destroyed) return;
          log.push(`>${line}`);
          socket.write(`${line}\n`);
        },
      };
      this.conns.push(conn);
      socket.on('error', () => {});
      let rest = '';
      socket.on('data', (chunk) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const raw of lines) {
          const line = raw.replace(/\r$/, '');
          log.push(`<${line}`);
          this.onLine(conn, line);
          this.emit('line', conn, line);
        }
      });
      this.onConnection(conn);
      this.emit('connection', conn);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
