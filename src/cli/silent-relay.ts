/**
 * A TCP relay for the demo that can go silent: it forwards bytes both ways
 * until silence(), then stops reading from both ends without closing either,
 * so no FIN and no RST reaches anyone: what a pulled cable, a dropped NAT
 * entry or a sleeping laptop looks like to each peer. Bytes sent meanwhile
 * stay in kernel buffers and are never delivered. Connections accepted after
 * silence() are relayed normally (the new path works).
 */
import * as net from 'node:net';

export class SilentRelay {
  private listener: net.Server | undefined;
  /** Listeners closed and waiting for their connections to go. */
  private readonly closing: Array<Promise<void>> = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly pairs = new Set<[net.Socket, net.Socket]>();

  /** Relays to `target` on 127.0.0.1. */
  constructor(private readonly target: number) {}

  /** Starts listening on 127.0.0.1 (`port` 0 picks one); resolves with the port. Again after stopListening(). */
  listen(port = 0): Promise<number> {
    const listener = net.createServer((client) => this.relay(client));
    this.listener = listener;
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, '127.0.0.1', () => {
        listener.off('error', reject);
        resolve((listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Every open connection stops carrying bytes, both ways, with no FIN or RST. */
  silence(): void {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
    this.pairs.clear();
  }

  /** Refuses new connections from now on; the open ones go on until their peers end them. */
  stopListening(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = undefined;
    this.closing.push(new Promise((resolve) => listener.close(() => resolve())));
  }

  /** Stops listening and destroys every socket, silent or not. */
  async close(): Promise<void> {
    this.stopListening();
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.closing);
  }

  private relay(client: net.Socket): void {
    const server = net.connect(this.target, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, server];
    for (const s of pair) {
      this.sockets.add(s);
      s.on('error', () => s.destroy()); // an end of the relay failing ends that side only: the other sees it
      s.on('close', () => {
        this.sockets.delete(s);
        this.pairs.delete(pair);
        // The other side follows, unless the path is silent (then it hears nothing).
        if (!s.isPaused()) (s === client ? server : client).end();
      });
    }
    client.pipe(server);
    server.pipe(client);
    this.pairs.add(pair);
  }
}
