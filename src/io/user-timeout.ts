/**
 * TCP_USER_TIMEOUT (Linux): how long written data may stay unacknowledged
 * before the kernel fails the connection with ETIMEDOUT. Node core cannot set
 * it; the optional `net-keepalive` package can. Without it the SDK works and
 * `stats().layers.userTimeoutMs` says false.
 */
import type { Socket } from 'node:net';

export type UserTimeoutSetter = ((socket: Socket, ms: number) => void) | null;

// A variable keeps bundlers and the type checker from requiring the optional package.
const OPTIONAL_MODULE = 'net-keepalive';

export async function loadUserTimeout(): Promise<UserTimeoutSetter> {
  if (process.platform !== 'linux') return null;
  try {
    const mod = (await import(OPTIONAL_MODULE)) as { setUserTimeout?: unknown; default?: { setUserTimeout?: unknown } };
    const fn = (mod.setUserTimeout ?? mod.default?.setUserTimeout) as ((s: Socket, ms: number) => boolean) | undefined;
    if (typeof fn !== 'function') return null;
    return (socket, ms) => {
      try {
        fn(socket, Math.round(ms));
      } catch {
        // A socket closed meanwhile: nothing to set.
      }
    };
  } catch {
    return null;
  }
}
