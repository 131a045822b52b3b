import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ChatClient } from '../../examples/chat/chat-client';
import { startChatServer, type ChatLine } from '../../examples/chat/chat-server';
import { waitFor, waitUntil } from '../support/events';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';

describe('examples/chat', () => {
  it('two clients chat across a server restart: no line lost or doubled', async () => {
    const before = resourceSnapshot();
    let server = await startChatServer(0);
    const port = server.address()!.port;
    const alice = new ChatClient('alice', port);
    const bob = new ChatClient('bob', port);
    const seen: Record<string, ChatLine[]> = { alice: [], bob: [] };
    alice.on('line', (l) => seen.alice!.push(l));
    bob.on('line', (l) => seen.bob!.push(l));
    try {
      await Promise.all([alice.connect(), bob.connect()]);
      await alice.say('hi bob');
      await bob.say('hi alice');
      await waitUntil(bob, ['line'], () => seen.bob!.length === 2);

      // The server goes away; both notice; lines typed meanwhile are queued.
      const down = [waitFor(alice.client, 'reconnecting'), waitFor(bob.client, 'reconnecting')];
      await server.close();
      await Promise.all(down);
      const queued = [alice.say('are you there?'), bob.say('server is down')];
      server = await startChatServer(port);
      await Promise.all(queued);
      await alice.say('back!');

      const expected = ['alice:hi bob', 'bob:hi alice', 'alice:are you there?', 'bob:server is down', 'alice:back!'];
      const key = (l: ChatLine): string => `${l.from}:${l.text}`;
      await waitUntil(alice, ['line'], () => seen.alice!.length >= expected.length);
      await waitUntil(bob, ['line'], () => seen.bob!.length >= expected.length);
      for (const who of ['alice', 'bob']) {
        const got = seen[who]!.map(key);
        expect([...got].sort()).toEqual([...expected].sort()); // every line once
        // each sender's lines in the order they were said
        for (const from of ['alice', 'bob']) {
          expect(got.filter((k) => k.startsWith(`${from}:`))).toEqual(expected.filter((k) => k.startsWith(`${from}:`)));
        }
      }
    } finally {
      await Promise.all([alice.close(), bob.close()]);
      await server.close();
    }
    await expectResourcesBackTo(before);
  });

  it('a client restarted as a new process is heard again: its ids start at 1, its new lines are not dropped as duplicates', async () => {
    const before = resourceSnapshot();
    const server = await startChatServer(0);
    const port = server.address()!.port;
    const alice = new ChatClient('alice', port);
    const seen: string[] = [];
    alice.on('line', (l) => seen.push(`${l.from}:${l.text}`));
    const bobs: ChildProcess[] = [];
    /** bob as the README runs him: `tsx examples/chat/chat-client.ts bob PORT`, typing `line`, then leaving. */
    const bobSays = async (line: string): Promise<void> => {
      const script = path.join(__dirname, '..', '..', 'examples', 'chat', 'chat-client.ts');
      const bob = spawn(process.execPath, ['--import', 'tsx', script, 'bob', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
      bobs.push(bob);
      let out = '';
      bob.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        bob.emit('output');
      });
      await waitUntil(bob, ['output'], () => out.includes('-- open'));
      bob.stdin!.end(`${line}\n`); // says it, then input ends: the client closes once the server has it
      await waitUntil(alice, ['line'], () => seen.includes(`bob:${line}`));
      await new Promise((resolve) => (bob.exitCode !== null ? resolve(undefined) : bob.once('exit', resolve)));
    };
    try {
      await alice.connect();
      await bobSays('first process, line 1'); // bob's id 1
      await bobSays('second process, line 1'); // id 1 again, from a new process
      expect(seen).toEqual(['bob:first process, line 1', 'bob:second process, line 1']);
    } finally {
      for (const b of bobs) if (b.exitCode === null && b.pid) b.kill('SIGKILL');
      await alice.close();
      await server.close();
    }
    await expectResourcesBackTo(before);
  });
});
