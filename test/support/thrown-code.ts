import { ResilientError } from '../../src/index';

/** The `code` of the ResilientError `fn` throws, or undefined if it returns; any other throw fails the test. */
export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ResilientError)) throw err;
    return err.code;
  }
  return undefined;
}
