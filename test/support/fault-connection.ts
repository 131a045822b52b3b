/**
 * One proxied connection of FaultProxy: the accepted client socket, its
 * upstream socket, and one FaultPipe per direction. Pure Node, no SDK imports.
 */
import type { Socket } from 'node:net';
import { FaultPipe, resetSocket, type Direction, type PipeHost } from './fault-pipe';

/** A client socket and its upstream socket, with one pipe per direction. */
export class ProxyConnection {
  readonly upstream: FaultPipe;
  readonly downstream: FaultPipe;
  readonly closed: Promise<void>;
  /** Set when the proxy tears the pair down itself, so neither side's close is propagated. */
  private tearingDown = false;

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    host: PipeHost,
    onLimitReached: (dir: Direction) => void,
    onClosed: (c: ProxyConnection) => void,
  ) {
    const cut = (dir: Direction): void => {
      this.destroy();
      onLimitReached(dir);
    };
    this.upstream = new FaultPipe('upstream', client, server, host, () => cut('upstream'));
    this.downstream = new FaultPipe('downstream', server, client, host, () => cut('downstream'));
    let open = 2;
    let resolveClosed!: () => void;
    this.closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const watch = (socket: Socket, outgoing: FaultPipe): void => {
      let failed = false;
      // Every socket has an error listener: ECONNRESET and friends must never crash the process.
      socket.on('error', () => (failed = true));
      socket.on('close', () => {
        if (!this.tearingDown) outgoing.sourceAborted(failed);
        if (--open > 0) return;
        this.upstream.dispose();
        this.downstream.dispose();
        onClosed(this);
        resolveClosed();
      });
    };
    watch(client, this.upstream);
    watch(server, this.downstream);
  }

  pipe(dir: Direction): FaultPipe {
    return dir === 'upstream' ? this.upstream : this.downstream;
  }

  /** Abortive close: RST on both sides. */
  reset(): void {
    this.tearingDown = true;
    resetSocket(this.client);
    resetSocket(this.server);
  }

  /** Ordinary destroy of both sides (FIN, or RST where the kernel still holds unread bytes). */
  destroy(): void {
    this.tearingDown = true;
    this.client.destroy();
    this.server.destroy();
  }
}
