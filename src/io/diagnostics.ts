/**
 * node:diagnostics_channel events, as undici publishes `undici:request:create`.
 * Every channel is created here, once; a publish point calls `publish(channel,
 * build)`, which builds the message only when someone subscribes
 * (`channel.hasSubscribers`), so an unobserved process pays one property read.
 * Messages carry sizes and ids, never payloads. docs/observability.md lists
 * the channels and their messages.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Channel } from 'node:diagnostics_channel';

/** The channel names, `resilient-tcp:<product>:<event>`. */
export const CHANNEL_NAMES = Object.freeze({
  clientStateChange: 'resilient-tcp:client:stateChange',
  clientConnect: 'resilient-tcp:client:connect',
  clientClose: 'resilient-tcp:client:close',
  clientHeartbeat: 'resilient-tcp:client:heartbeat',
  clientMessage: 'resilient-tcp:client:message',
  serverConnection: 'resilient-tcp:server:connection',
  serverConnectionClose: 'resilient-tcp:server:connectionClose',
} as const);

/** `client` is the ResilientClient; `code` is set when an error caused the change. */
export interface ClientStateChangeMessage {
  client: object;
  from: string;
  to: string;
  code?: string;
}
/** A connection opened (handshake done). `remote` is `host:port`; `attempt` the retries it took. */
export interface ClientConnectMessage {
  client: object;
  remote: string | undefined;
  sessionId: string | undefined;
  resumed: boolean;
  attempt: number;
}
/** An open connection ended; `code` is why (absent after close()). */
export interface ClientCloseMessage {
  client: object;
  remote: string | undefined;
  code?: string;
  willReconnect: boolean;
}
/** A PONG arrived: the round trip in ms. */
export interface ClientHeartbeatMessage {
  client: object;
  rttMs: number;
}
/** A message delivered to the app (`in`) or accepted by send() (`out`): its id and size, never its bytes. */
export interface ClientMessageMessage {
  client: object;
  direction: 'in' | 'out';
  id: number;
  /** Payload bytes; `undefined` for a decoded codec message that is not a Buffer. */
  bytes: number | undefined;
}
/** The server accepted a socket (before the handshake). */
export interface ServerConnectionMessage {
  server: object;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}
/** An accepted socket ended; `code` is why (absent for a clean end). */
export interface ServerConnectionCloseMessage extends ServerConnectionMessage {
  code?: string;
}

function channel<T>(name: string): TypedChannel<T> {
  return diagnosticsChannel.channel(name) as TypedChannel<T>;
}

/** A channel whose messages are of type T (a type only: the object is node's Channel). */
export type TypedChannel<T> = Channel & { readonly __message?: T };

export const channels = {
  clientStateChange: channel<ClientStateChangeMessage>(CHANNEL_NAMES.clientStateChange),
  clientConnect: channel<ClientConnectMessage>(CHANNEL_NAMES.clientConnect),
  clientClose: channel<ClientCloseMessage>(CHANNEL_NAMES.clientClose),
  clientHeartbeat: channel<ClientHeartbeatMessage>(CHANNEL_NAMES.clientHeartbeat),
  clientMessage: channel<ClientMessageMessage>(CHANNEL_NAMES.clientMessage),
  serverConnection: channel<ServerConnectionMessage>(CHANNEL_NAMES.serverConnection),
  serverConnectionClose: channel<ServerConnectionCloseMessage>(CHANNEL_NAMES.serverConnectionClose),
};

/** Publishes `build()` on `ch` if anyone subscribes; otherwise `build` is never called. */
export function publish<T>(ch: TypedChannel<T>, build: () => T): void {
  if (ch.hasSubscribers) ch.publish(build());
}
