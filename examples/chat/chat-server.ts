/**
 * A reconnect-aware chat server on resilient-tcp: every line a client sends is
 * broadcast to every session as JSON { from, id, text }, where `id` is the
 * sender's message id. Ids are stable across reconnects and server restarts,
 * so clients can drop the rare duplicate a restart may cause.
 *
 *   npx tsx examples/chat/chat-server.ts [port]      (default 7401)
 */
import { HeartbeatServer } from '../../src/server/index';

export interface ChatLine {
  from: string;
  id: number;
  text: string;
}

export async function startChatServer(port = 7401, host = '127.0.0.1'): Promise<HeartbeatServer> {
  const server = new HeartbeatServer({ port, host, idleTimeoutMs: 15_000 });
  server.on('message', (session, payload, meta) => {
    const line: ChatLine = { from: session.clientId, id: meta.id, text: payload.toString('utf8') };
    const json = JSON.stringify(line);
    for (const row of server.connections()) {
      // A session that is gone before it acks rejects with ERR_CLOSED: nothing to do for a chat.
      void server.session(row.id)?.send(json).catch(() => undefined);
    }
  });
  await server.listen();
  return server;
}

if (require.main === module) {
  const port = Number(process.argv[2] ?? 7401);
  void startChatServer(port).then((server) => {
    console.log(`chat server on 127.0.0.1:${server.address()?.port} (Ctrl-C to stop)`);
    server.on('connection', (s, i) => console.log(`+ ${s.clientId}${i.resumed ? ' (resumed)' : ''}`));
    server.on('disconnect', (s, e) => console.log(`- ${s.clientId} ${e?.code ?? ''}`));
    process.once('SIGINT', () => void server.close().then(() => process.exit(0)));
  });
}
