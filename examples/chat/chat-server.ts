/**
 * A reconnect-aware chat server on resilient-tcp: every line a client sends is
 * broadcast to every session as JSON { from, nonce, id, text }, where `id` is
 * the sender's message id and `nonce` names the sender's process, and
 * replayed from a short history to every session that (re)connects. A
 * client's ids are stable across reconnects and server restarts but start
 * again at 1 in a new process: (nonce, id) names a line for good, so clients
 * drop what they already have and nothing else.
 *
 *   npx tsx examples/chat/chat-server.ts [port]      (default 7401)
 */
import { HeartbeatServer } from '../../src/server/index';

export interface ChatLine {
  from: string;
  /** The sender's process (ChatClient makes one at start); its session id for a plain-text sender. */
  nonce: string;
  id: number;
  text: string;
}

/** What a ChatClient sends for each line. */
export interface ChatSay {
  nonce: string;
  text: string;
}

/** A ChatSay, or a plain line of text from another client (then the session stands for the nonce). */
function parseSay(payload: Buffer, sessionId: string): ChatSay {
  const raw = payload.toString('utf8');
  try {
    const say = JSON.parse(raw) as Partial<ChatSay>;
    if (typeof say.nonce === 'string' && typeof say.text === 'string') return { nonce: say.nonce, text: say.text };
  } catch {
    // not JSON: a plain line
  }
  return { nonce: sessionId, text: raw };
}

/** Lines replayed to every (re)connecting session, so one that joins late misses nothing. */
const HISTORY = 200;

export async function startChatServer(port = 7401, host = '127.0.0.1'): Promise<HeartbeatServer> {
  const server = new HeartbeatServer({ port, host, idleTimeoutMs: 15_000 });
  const history: string[] = [];
  // A session that is gone before it acks rejects with ERR_CLOSED: nothing to do for a chat.
  const deliver = (sessionId: string, json: string): void => void server.session(sessionId)?.send(json).catch(() => undefined);
  server.on('message', (session, payload, meta) => {
    const line: ChatLine = { from: session.clientId, id: meta.id, ...parseSay(payload, session.id) };
    const json = JSON.stringify(line);
    history.push(json);
    if (history.length > HISTORY) history.shift();
    for (const row of server.connections()) deliver(row.id, json);
  });
  // Clients reconnect at jittered times after a restart: one that comes back
  // later than another's queued line gets it from the history. Clients drop
  // what they already have by (nonce, id), so the replay never doubles a line.
  server.on('connection', (session) => {
    for (const json of history) deliver(session.id, json);
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
