/**
 * resilient-tcp/server: the companion HeartbeatServer.
 */
export { HeartbeatServer } from './server';
export type { ConnectionInfo, ServerEvents, ServerMessageMeta } from './server';
export { Session } from './session';
export type { MessageBatch } from './batch';
export { SERVER_DEFAULTS } from './options';
export type { Credentials, PeerInfo, ServerOptions } from './options';
export { ExpiryList } from './expiry-list';
export { ResilientError, classifyError } from '../core/errors';
export type { ErrorKind } from '../core/errors';
export type { QueueOptions } from '../core/delivery';
