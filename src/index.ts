/**
 * resilient-tcp: a TCP client that notices dead links in seconds, reconnects
 * with bounded jittered backoff and delivers every message exactly once while
 * the server lives. The companion server is in 'resilient-tcp/server'.
 */
export { ResilientClient } from './client';
export type {
  ClientEvents,
  ClientStats,
  CloseEvent,
  MessageMeta,
  OpenEvent,
  ReconnectingEvent,
  SendOptions,
  StateChangeEvent,
} from './client';
export { DEFAULTS } from './options';
export type { ClientOptions, Endpoint, HeartbeatConfig, Logger, QueueConfig, ReconnectOptions } from './options';
export { ResilientError, ErrorCodes, ERRNO_KINDS, WINSOCK_ERRNO, classifyError, errnoName } from './errors';
export type { ErrorCode, ErrorKind } from './errors';
export { backoffDelay, baseDelay, BACKOFF_DEFAULTS } from './backoff';
export type { BackoffOptions, Jitter } from './backoff';
export { STATES, TRANSITIONS, transition, canTransition, IllegalTransitionError } from './state';
export type { ClientState } from './state';
