/**
 * Types the example clients share, taken from ClientOptions so they follow it.
 */
import type { ClientOptions } from '../../src/index';

/** What `handshake(link)` receives on every connection (src/client/handshake.ts). */
export type HandshakeLink<M> = Parameters<NonNullable<ClientOptions<M>['handshake']>>[0];

/** The options an example passes through to its ResilientClient: everything but the protocol, which the example owns. */
export type ConnectionOptions<M> = Omit<ClientOptions<M>, 'codec' | 'handshake' | 'heartbeat' | 'delivery'>;
