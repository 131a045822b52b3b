/**
 * resilient-tcp: a TCP client that notices dead links in seconds, reconnects
 * with bounded jittered backoff and delivers every message exactly once while
 * the server lives. The companion server is in 'resilient-tcp/server'.
 */
export { ResilientClient } from './client/client';
export type { Sendable } from './client/client';
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
} from './client/types';
export { DEFAULTS } from './client/options';
export type { ClientOptions, Endpoint, HeartbeatConfig, Logger, QueueConfig, ReconnectOptions } from './client/options';
export type { Delivery, HandshakeFn, HandshakeLink } from './client/handshake';
export type { LogFields } from './core/logger';
export { CHANNEL_NAMES } from './io/diagnostics';
export type {
  ClientStateChangeMessage,
  ClientConnectMessage,
  ClientCloseMessage,
  ClientHeartbeatMessage,
  ClientMessageMessage,
  ServerConnectionMessage,
  ServerConnectionCloseMessage,
} from './io/diagnostics';
export { lineCodec } from './protocol/codec';
export type { Codec, Decoder, LineCodecOptions } from './protocol/codec';
export { ResilientError, ErrorCodes, ERRNO_KINDS, WINSOCK_ERRNO, classifyError, errnoName } from './core/errors';
export type { ErrorCode, ErrorKind } from './core/errors';
export { backoffDelay, baseDelay, BACKOFF_DEFAULTS } from './core/backoff';
export type { BackoffOptions, Jitter, RetryDelayHook } from './core/backoff';
export { STATES, TRANSITIONS, transition, canTransition, IllegalTransitionError } from './core/state';
export type { ClientState } from './core/state';
