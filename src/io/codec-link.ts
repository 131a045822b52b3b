/**
 * A client connection for a server that speaks its own protocol: the user's
 * codec frames messages, there is no handshake (open when TCP/TLS is up), no
 * ids or acks (a send resolves once written), and the heartbeat is the
 * user's ping/pong or plain inbound activity.
 */
import type { Codec, Decoder } from '../protocol/codec';
import { ConnectionHooks, ShellConfig, SocketShell } from './link';

export interface CodecHeartbeat<M> {
  intervalMs: number;
  timeoutMs: number;
  /** Builds the ping for sequence number `seq`; absent in 'inbound' mode. */
  createPing?: (seq: number) => M;
  /** True for a message that answers a ping (it is not emitted as a message). */
  isPong?: (message: M) => boolean;
}

export interface CodecConnectionConfig<M> extends ShellConfig {
  codec: Codec<M>;
  heartbeat: CodecHeartbeat<M> | false;
}

export class CodecConnection<M> extends SocketShell<M> {
  private readonly decoder: Decoder<M>;
  private received = 0;
  private lastPingAt = new Map<number, number>();

  constructor(
    private readonly config: CodecConnectionConfig<M>,
    hooks: ConnectionHooks<M>,
  ) {
    super(config, hooks);
    this.decoder = config.codec.decoder();
  }

  /** `payload` is already encoded by the codec (the client encodes on send()). */
  sendMessage(id: number, payload: Buffer): void {
    this.writer.write(payload);
    // No acks in a foreign protocol: a message counts as sent once the kernel has it.
    this.writer.afterFlush(() => this.hooks.onAck(id));
  }

  sendAck(): void {}

  end(): void {
    if (this.phase === 'done') return;
    this.clearTimer();
    this.writer.flush();
    this.socket.end();
  }

  protected onReady(): void {
    const hb = this.config.heartbeat;
    this.opened(
      { sessionId: undefined, resumed: false, acked: 0, maxPayloadBytes: Infinity },
      hb ? { intervalMs: hb.intervalMs, timeoutMs: hb.timeoutMs } : undefined,
      hb !== false && hb.createPing !== undefined,
    );
  }

  protected sendPing(seq: number): void {
    const hb = this.config.heartbeat;
    if (!hb || !hb.createPing) return;
    this.writer.write(Buffer.from(this.config.codec.encode(hb.createPing(seq))));
    this.lastPingAt.set(seq, this.cfg.now());
    if (this.lastPingAt.size > 64) this.lastPingAt.delete(this.lastPingAt.keys().next().value as number);
  }

  protected onChunk(chunk: Buffer): void {
    const hb = this.config.heartbeat;
    for (const m of this.decoder.push(chunk)) {
      if (this.phase === 'done') return;
      if (hb && hb.isPong?.(m)) {
        // The user's pong carries no seq we can read: match the oldest outstanding ping.
        const first = this.lastPingAt.entries().next().value as [number, number] | undefined;
        if (first) {
          this.lastPingAt.delete(first[0]);
          const rtt = this.monitor?.onPong(first[0], this.cfg.now());
          if (rtt !== undefined) this.hooks.onPong(rtt);
        }
        continue;
      }
      this.hooks.onData(++this.received, m);
    }
  }
}
