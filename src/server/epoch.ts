/**
 * Wall-clock times the server keeps per connection and session
 * (`connectedAt`, `createdAt`) as the ms since this module loaded: small
 * integers, which V8 keeps in the field itself, where an epoch ms (past
 * 2^31) is a 16-byte heap number each. The epoch value is rebuilt exactly on
 * read. Past 2^31 ms (24.8 days) of uptime the marks leave the Smi range:
 * still correct, boxed again.
 */
const BASE = Date.now();

/** Now, as ms since BASE. */
export function epochMark(): number {
  // Math.floor of a whole number: V8's subtraction of two heap numbers is a heap number even when whole, Math.floor's result a small integer.
  return Math.floor(Date.now() - BASE);
}

/** The epoch ms of a mark from epochMark(). */
export function epochOf(mark: number): number {
  return BASE + mark;
}
