/**
 * A plain `net` socket speaking a user codec, for tests against servers that
 * are not ours (test/real-servers): send messages, wait for the next one that
 * matches. No reconnects, no heartbeat: the harness and the codecs are tested
 * on their own, below ResilientClient.
 */
import * as net from 'node:net';
import type { Codec, Decoder } from '../../src/index';
import { useCleanup } from './lifecycle';

/** How long next() waits by default before it fails the test. */
const NEXT_TIMEOUT_MS = 10_000;

export class CodecSocket<M> {
  /** Every message decoded so far, in order (next() does not remove from it). */
  readonly received: M[] = [];
  /** Resolves when the socket has closed, with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined>;
  private readonly decoder: Decoder<M>;
  private unread = 0;
  private closeError: Error | undefined;
  private isClosed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly socket: net.Socket,
    private readonly codec: Codec<M>,
  ) {
    this.decoder = codec.decoder();
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve(this.closeError);
      }),
    );
    socket.on('error', (err) => (this.closeError ??= err));
    socket.on('data', (chunk) => {
      try {
        this.received.push(...this.decoder.push(chunk));
      } catch (err) {
        this.closeError = err as Error;
        socket.destroy();
      }
      this.wake();
    });
  }

  /** Connects to 127.0.0.1:port; rejects with the connect error (e.g. ECONNREFUSED). */
  static connect<M>(port: number, codec: Codec<M>, host = '127.0.0.1'): Promise<CodecSocket<M>> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const fail = (err: Error): void => reject(err);
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new CodecSocket(socket, codec));
      });
    });
  }

  send(...messages: M[]): void {
    for (const m of messages) this.socket.write(this.codec.encode(m));
  }

  /**
   * The next unread message that passes `match`; unread messages before it
   * are skipped. Rejects if the socket closes first or after `timeoutMs`.
   */
  next(match: (m: M) => boolean = () => true, timeoutMs = NEXT_TIMEOUT_MS): Promise<M> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        while (this.unread < this.received.length) {
          const m = this.received[this.unread++] as M;
          if (match(m)) {
            done();
            resolve(m);
            return true;
          }
        }
        if (this.isClosed) {
          done();
          reject(new Error(`socket closed before the awaited message${this.closeError ? `: ${this.closeError.message}` : ''}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching message within ${timeoutMs} ms; last received: ${JSON.stringify(this.received.slice(-3))}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => void check();
      this.waiters.add(waiter);
      check();
    });
  }

  /** Closes the socket (destroy) and resolves once it has closed. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * For a describe block: `open(port, codec)` connects a CodecSocket that is
 * destroyed after the test, followed by the leak check of test/support/lifecycle.ts.
 */
export function useCodecSockets(): { open<M>(port: number, codec: Codec<M>): Promise<CodecSocket<M>> } {
  const cleanup = useCleanup();
  return {
    async open<M>(port: number, codec: Codec<M>): Promise<CodecSocket<M>> {
      const s = await CodecSocket.connect(port, codec);
      cleanup.push(() => s.destroy());
      return s;
    },
  };
}
