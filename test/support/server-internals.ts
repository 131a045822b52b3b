/**
 * Test-only reach into the HeartbeatServer's accepted sockets, to commit the
 * faults a real server sees (its own socket destroyed, reset, stalled).
 */
import type { Socket } from 'node:net';
import type { HeartbeatServer } from '../../src/server';

export function serverSockets(server: HeartbeatServer): Socket[] {
  const conns = (server as unknown as { conns: Set<{ socket: Socket; isDone: boolean }> }).conns;
  return [...conns].filter((c) => !c.isDone).map((c) => c.socket);
}

/** The socket of the open connection of session `sessionId`, if any. */
export function sessionSocket(server: HeartbeatServer, sessionId: string): Socket | undefined {
  // A connected session's `wake` is its open link (server.ts linkOf).
  return (server.session(sessionId)?.wake as { socket: Socket } | undefined)?.socket;
}
