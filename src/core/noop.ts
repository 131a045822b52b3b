/**
 * The one do-nothing function: a listener that only keeps a late 'error'
 * from crashing the process, a settle callback nobody needs, a default hook.
 * One shared function, not one per module or per object.
 */
export function noop(): void {}
