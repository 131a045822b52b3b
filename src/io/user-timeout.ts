/**
 * TCP_USER_TIMEOUT (Linux): how long written data may stay unacknowledged
 * before the kernel fails the connection with ETIMEDOUT. Node core cannot set
 * it; the `net-keepalive` package can. It is an optional peer dependency (opt
 * in with `npm install net-keepalive`): without it the SDK works, the layer is
 * off and `stats().layers.userTimeoutMs` says false.
 */
import type { Socket } from 'node:net';

export type UserTimeoutSetter = ((socket: Socket, ms: number) => void) | null;

// A variable keeps bundlers and the type checker from requiring the optional package.
const OPTIONAL_MODULE = 'net-keepalive';

/** How to turn the layer on, for the warning when it is off. */
export const USER_TIMEOUT_HINT = `install the optional peer dependency with \`npm install ${OPTIONAL_MODULE}\``;

/**
 * Loads the setter once per client. `warn` is called (once, from this call) on
 * Linux when the package is missing or fails to load; elsewhere the layer does
 * not exist and nothing is said.
 */
export async function loadUserTimeout(warn?: (message: string) => void): Promise<UserTimeoutSetter> {
  if (process.platform !== 'linux') return null;
  let mod: { setUserTimeout?: unknown; default?: { setUserTimeout?: unknown } };
  try {
    mod = (await import(OPTIONAL_MODULE)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    warn?.(
      missing
        ? `deadAfterMs: TCP_USER_TIMEOUT is off (${OPTIONAL_MODULE} is not installed; ${USER_TIMEOUT_HINT}); heartbeat and TCP keepalive still apply`
        : `deadAfterMs: TCP_USER_TIMEOUT is off (${OPTIONAL_MODULE} failed to load: ${err instanceof Error ? err.message : String(err)})`,
    );
    return null;
  }
  const fn = (mod.setUserTimeout ?? mod.default?.setUserTimeout) as ((s: Socket, ms: number) => boolean) | undefined;
  if (typeof fn !== 'function') {
    warn?.(`deadAfterMs: TCP_USER_TIMEOUT is off (${OPTIONAL_MODULE} has no setUserTimeout)`);
    return null;
  }
  return (socket, ms) => {
    try {
      fn(socket, Math.round(ms));
    } catch {
      // A socket closed meanwhile: nothing to set.
    }
  };
}
