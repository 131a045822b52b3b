/**
 * The client's link for a server that speaks its own protocol: the user's
 * codec frames messages, there is no protocol handshake (up when TCP/TLS is
 * up; the user's `handshake` option may follow), no ids and no acks. A send
 * resolves once written, or with `delivery: 'confirmed'` once a pong to a
 * later ping arrived (core/confirm.ts). Each inbound message goes through
 * core/inbound-route.ts: the server's ping is answered, our pong is matched
 * (core/pong.ts), the rest is a message.
 */
import type { ConfirmLedger } from '../core/confirm';
import { routeInbound } from '../core/inbound-route';
import type { PingMatch } from '../core/pong';
import type { Codec, Decoder } from '../protocol/codec';
import { Link, type LinkHooks, type LinkOptions } from './link';
import type { Endpoint } from './socket';

export interface CodecHeartbeat<M> {
  intervalMs: number;
  timeoutMs: number;
  /** 'ping': send createPing(seq) and match isPong; 'inbound': send nothing, any inbound byte is liveness. */
  mode: 'ping' | 'inbound';
  /** Builds the ping for sequence number `seq`. */
  createPing?: (seq: number) => M;
  /** false/undefined: not a pong; true: a pong; a number: the seq it answers (src/core/pong.ts). */
  isPong?: (message: M) => boolean | number | undefined;
  /** The reply to the server's own ping, or undefined for any other message (any mode). */
  answer?: (message: M) => M | undefined | null;
}

/** What the codec link reads of the client's options (the resolved options themselves). */
export interface CodecLinkOptions<M> extends LinkOptions {
  codec: Codec<M>;
  heartbeat: CodecHeartbeat<M> | false;
}

/** What the codec link reads from its owner besides LinkHooks. */
export interface CodecOwner {
  /** Set with `delivery: 'confirmed'`: messages written and not yet confirmed (ids), across connections. */
  readonly confirm: ConfirmLedger<number> | undefined;
}

export class CodecLink<M> extends Link<M, CodecLinkOptions<M>, LinkHooks<M> & CodecOwner> {
  private readonly decoder: Decoder<M>;
  private received = 0;
  private readonly createPing: ((seq: number) => M) | undefined;
  private readonly hooksIn: { answer?: (m: M) => M | undefined | null; isPong?: (m: M) => unknown };
  /** Ids written in the current batch (confirmed delivery): one barrier check per batch. */
  private batch: number[] = [];

  /** @param owner its hooks, and the client's options (`owner.opts`, with a codec: the CodecLinkOptions) */
  constructor(endpoint: Endpoint, owner: LinkHooks<M> & CodecOwner) {
    super(endpoint, owner);
    const config = this.cfg;
    this.decoder = config.codec.decoder();
    const hb = config.heartbeat;
    this.hooksIn = hb && hb.answer ? { answer: hb.answer } : {};
    if (hb && hb.mode === 'ping') {
      this.createPing = hb.createPing;
      if (hb.isPong) this.hooksIn.isPong = hb.isPong;
    }
  }

  /** `payload` is already encoded by the codec (the client encodes on send()). */
  sendMessage(id: number, payload: Buffer): void {
    this.writer.write(payload);
    this.wrote();
    if (this.hooks.confirm === undefined) {
      // No acks in a foreign protocol: a message counts as sent once the kernel has it.
      this.writer.afterFlush(() => this.hooks.onAck(id));
      return;
    }
    // The pump writes a batch synchronously; its barrier ping follows it, once.
    if (this.batch.push(id) === 1) queueMicrotask(this.endBatch);
  }

  /** Writes one message of the user's handshake (or a reply to the server's ping) ahead of the queue. */
  sendNow(message: M): void {
    this.writer.write(Buffer.from(this.cfg.codec.encode(message)));
  }

  protected goodbye(): void {}

  protected onReady(): void {
    this.opened({ sessionId: undefined, resumed: false, acked: 0, maxPayloadBytes: Infinity }, this.cfg.heartbeat || undefined, this.createPing !== undefined);
  }

  /** The monitor says a ping is due; the ledger gives its seq (and the confirm mark it carries). */
  protected sendPing(now: number): void {
    this.writePing(now);
  }

  /** Pongs are matched in the client's ledger by isPong's seq, or a bare pong to the oldest ping (core/pong.ts). */
  protected onChunk(chunk: Buffer, now: number): undefined {
    for (const m of this.decoder.push(chunk)) {
      if (this.ended) return;
      const route = routeInbound(m, this.hooksIn, this.hooks.heartbeat, undefined, now);
      if (route.kind === 'answer') this.sendNow(route.reply);
      else if (route.kind === 'pong') {
        if (route.match) this.onMatched(route.match, now);
      } else this.hooks.onData(++this.received, m);
    }
    return undefined;
  }

  private writePing(now: number): void {
    const create = this.createPing;
    if (!create || this.ended) return;
    const seq = this.hooks.heartbeat.sent(now, this.hooks.confirm?.pinged() ?? 0);
    this.sendNow(create(seq));
  }

  private onMatched(match: PingMatch, now: number): void {
    this.answered(match);
    const confirm = this.hooks.confirm;
    if (!confirm) return;
    const { confirmed, barrier } = confirm.answered(match.mark);
    const last = confirmed[confirmed.length - 1];
    if (last !== undefined) this.hooks.onAck(last);
    if (barrier && this.isOpen) this.writePing(now);
  }

  private readonly endBatch = (): void => {
    const batch = this.batch;
    this.batch = [];
    if (!this.ended && this.hooks.confirm?.wrote(batch)) this.writePing(this.wheel.now());
  };
}
