/**
 * The logger both products accept (client and server options).
 *
 * Called pino-style, fields first and the message second:
 * `logger.info({ from: 'connecting', to: 'open' }, 'connecting -> open')`.
 * pino and bunyan index the fields; `console` prints both (the object, then
 * the line). docs/decisions.md says why this shape and not message-first.
 */

/** Structured fields of one log line (`err` holds an Error, as pino serializes it). */
export interface LogFields {
  [key: string]: unknown;
}

/** pino, bunyan or `console`: any object with these four methods. */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}
