/**
 * AbortSignal plumbing for the client's promises.
 */
import { sdkError } from '../core/errors';
import type { Waiter } from './lifecycle';

/** Rejects the waiter with ERR_ABORTED when `signal` aborts; `remove` unregisters it. */
export function withAbort(signal: AbortSignal | undefined, waiter: Waiter, remove: () => void): void {
  if (!signal) return;
  const onAbort = (): void => {
    remove();
    waiter.reject(sdkError('ERR_ABORTED', 'signal was aborted'));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const { resolve, reject } = waiter;
  waiter.resolve = () => {
    signal.removeEventListener('abort', onAbort);
    resolve();
  };
  waiter.reject = (e) => {
    signal.removeEventListener('abort', onAbort);
    reject(e);
  };
}
