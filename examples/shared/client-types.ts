/**
 * The options an example client passes through to its ResilientClient:
 * everything but the protocol (codec, handshake, heartbeat, delivery), which
 * the example owns.
 */
import type { ClientOptions } from '../../src/index';

export type ConnectionOptions<M> = Omit<ClientOptions<M>, 'codec' | 'handshake' | 'heartbeat' | 'delivery'>;
