/**
 * The client's link for a server that speaks its own protocol: the user's
 * codec frames messages, there is no handshake (open when TCP/TLS is up), no
 * ids or acks (a send resolves once written), and the heartbeat is the
 * user's ping/pong or plain inbound activity.
 */
import type { Codec, Decoder } from '../protocol/codec';
import { Link, LinkConfig, LinkHooks } from './link';

export interface CodecHeartbeat<M> {
  intervalMs: number;
  timeoutMs: number;
  /** 'ping': send createPing(seq) and match isPong; 'inbound': send nothing, any inbound byte is liveness. */
  mode: 'ping' | 'inbound';
  /** Builds the ping for sequence number `seq`. */
  createPing?: (seq: number) => M;
  /** True for a message that answers a ping (it is not emitted as a message). */
  isPong?: (message: M) => boolean;
}

export interface CodecLinkConfig<M> extends LinkConfig {
  codec: Codec<M>;
  heartbeat: CodecHeartbeat<M> | false;
}

export class CodecLink<M> extends Link<M> {
  private readonly decoder: Decoder<M>;
  private received = 0;
  private readonly createPing: ((seq: number) => M) | undefined;
  private readonly isPong: ((message: M) => boolean) | undefined;

  constructor(
    private readonly config: CodecLinkConfig<M>,
    hooks: LinkHooks<M>,
  ) {
    super(config, hooks);
    this.decoder = config.codec.decoder();
    const hb = config.heartbeat;
    if (hb && hb.mode === 'ping') {
      this.createPing = hb.createPing;
      this.isPong = hb.isPong;
    }
  }

  /** `payload` is already encoded by the codec (the client encodes on send()). */
  sendMessage(id: number, payload: Buffer): void {
    this.writer.write(payload);
    // No acks in a foreign protocol: a message counts as sent once the kernel has it.
    this.writer.afterFlush(() => this.hooks.onAck(id));
  }

  protected goodbye(): void {}

  protected onReady(): void {
    this.opened({ sessionId: undefined, resumed: false, acked: 0, maxPayloadBytes: Infinity }, this.config.heartbeat || undefined, this.createPing !== undefined);
  }

  protected sendPing(seq: number): void {
    if (this.createPing) this.writer.write(Buffer.from(this.config.codec.encode(this.createPing(seq))));
  }

  protected onChunk(chunk: Buffer): undefined {
    for (const m of this.decoder.push(chunk)) {
      if (this.ended) return;
      // The user's pong carries no seq we can read: it answers the oldest outstanding ping.
      if (this.isPong?.(m)) this.pong(undefined);
      else this.hooks.onData(++this.received, m);
    }
    return undefined;
  }
}
