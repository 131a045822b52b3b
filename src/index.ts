/**
 * resilient-tcp: a TCP client that notices dead links in seconds, reconnects
 * with bounded jittered backoff and delivers every message exactly once while
 * the server lives. The companion server is in 'resilient-tcp/server'.
 */
export { ResilientClient } from './client';
export type { Sendable } from './client';
export type {
  ClientEvents,
  ClientStats,
  CloseEvent,
  LivenessLayers,
  MessageMeta,
  OpenEvent,
  ReconnectingEvent,
  SendOptions,
  StateChangeEvent,
} from './client-types';
export { DEFAULTS } from './options';
export type { ClientOptions, Endpoint, HeartbeatConfig, Logger, QueueConfig, ReconnectOptions } from './options';
export { lineCodec } from './codec';
export type { Codec, Decoder, LineCodecOptions } from './codec';
export { ResilientError, ErrorCodes, ERRNO_KINDS, WINSOCK_ERRNO, classifyError, errnoName } from './errors';
export type { ErrorCode, ErrorKind } from './errors';
export { backoffDelay, baseDelay, BACKOFF_DEFAULTS } from './backoff';
export type { BackoffOptions, Jitter } from './backoff';
export { STATES, TRANSITIONS, transition, canTransition, IllegalTransitionError } from './state';
export type { ClientState } from './state';
