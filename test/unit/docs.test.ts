/**
 * Keeps docs/ in step with the code: every error code, every state-machine
 * edge and every option (with its default) must be documented, and every
 * TypeScript sample in README.md and docs/ compiles as written (the
 * getting-started pair also runs). When one of these fails, update the page
 * named in the failure, not the test.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allCodeBlocks, type CodeBlock } from '../support/code-blocks';
import { expectResourcesBackTo, resourceSnapshot } from '../support/resources';
import { ERRNO_KINDS, ErrorCodes, ErrorKind, WINSOCK_ERRNO } from '../../src/core/errors';
import { DEFAULTS } from '../../src/client/options';
import { SERVER_DEFAULTS } from '../../src/server/options';
import { ClientState, MachineEvent, MachineEventType, RetryPolicy, STATES, TRANSITIONS, transition, machineIn } from '../../src/core/state';

const ROOT = path.join(__dirname, '..', '..');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');

const KINDS: readonly ErrorKind[] = ['transient', 'unavailable', 'network', 'fatal'];

/** `a.b` paths of every leaf of a plain options object (arrays and functions are leaves). */
function leaves(obj: object, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(obj)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) out.push(...leaves(value as object, name));
    else out.push([name, value]);
  }
  return out;
}

/** Property names declared at the top level of `export interface <name>` in a source file. */
function interfaceKeys(source: string, name: string): string[] {
  const start = new RegExp(`export interface ${name}\\b[^{]*\\{`).exec(source);
  if (!start) throw new Error(`interface ${name} not found`);
  let depth = 1;
  let i = start.index + start[0].length;
  const bodyStart = i;
  for (; i < source.length && depth > 0; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}') depth--;
  }
  const body = source
    .slice(bodyStart, i - 1)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  const keys: string[] = [];
  let nested = 0;
  for (const line of body.split('\n')) {
    const m = nested === 0 ? /^\s*(\w+)\??\s*:/.exec(line) : null;
    if (m && m[1]) keys.push(m[1]);
    for (const ch of line) {
      if (ch === '{') nested++;
      else if (ch === '}') nested--;
    }
  }
  return keys;
}

/** The table row documenting `name` (a line starting with "| `name` |"), or undefined. */
function rowOf(doc: string, name: string): string | undefined {
  return doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
}

describe('docs/errors.md', () => {
  const doc = read('docs/errors.md');

  it.each(Object.values(ErrorCodes))('documents the SDK code %s', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it.each(Object.keys(ERRNO_KINDS))('documents the errno %s with its kind', (code) => {
    const row = rowOf(doc, code);
    expect(row).toBeDefined();
    expect(row).toContain(`| ${ERRNO_KINDS[code]} |`);
  });

  it.each(Object.keys(WINSOCK_ERRNO))('documents the Winsock number %s', (num) => {
    const name = WINSOCK_ERRNO[Number(num)] as string;
    const row = doc.split('\n').find((line) => line.startsWith(`| ${num} |`));
    expect(row).toBeDefined();
    expect(row).toContain(`\`${name}\``);
  });
});

describe('docs/state-machine.md', () => {
  /** Every (from, to, event) the table can produce, found by running transition() on every entry. */
  function edgesOfTable(): string[] {
    const edges = new Set<string>();
    const policies: RetryPolicy[] = [
      { enabled: true, maxRetries: Infinity },
      { enabled: true, maxRetries: 0 },
      { enabled: true, maxRetries: 3 },
      { enabled: false, maxRetries: Infinity },
    ];
    for (const from of STATES) {
      for (const type of Object.keys(TRANSITIONS[from]) as MachineEventType[]) {
        const events: MachineEvent[] = type === 'lost' ? KINDS.map((kind) => ({ type, kind })) : [{ type } as MachineEvent];
        for (const event of events) {
          for (const policy of policies) {
            for (const retries of [0, 1, 5]) {
              const t = transition(machineIn(from, retries), event, policy);
              edges.add(`${from} --> ${t.machine.state} : ${type}`);
            }
          }
        }
      }
    }
    return [...edges].sort();
  }

  function edgesOfDiagram(): { edges: string[]; start: ClientState[]; bad: string[] } {
    const doc = read('docs/state-machine.md');
    const block = /```mermaid\n([\s\S]*?)```/.exec(doc);
    if (!block || block[1] === undefined) throw new Error('no mermaid block in docs/state-machine.md');
    expect(block[1]).toMatch(/^\s*stateDiagram-v2\s*$/m);
    const edges: string[] = [];
    const start: ClientState[] = [];
    const bad: string[] = [];
    for (const raw of block[1].split('\n')) {
      const line = raw.trim();
      if (!line.includes('-->')) continue;
      const initial = /^\[\*\]\s*-->\s*(\w+)$/.exec(line);
      if (initial && initial[1]) {
        start.push(initial[1] as ClientState);
        continue;
      }
      const m = /^(\w+)\s*-->\s*(\w+)\s*:\s*(\w+)$/.exec(line);
      if (m) edges.push(`${m[1]} --> ${m[2]} : ${m[3]}`);
      else bad.push(line);
    }
    return { edges: edges.sort(), start, bad };
  }

  it('has exactly the edges of TRANSITIONS, each labelled with its event', () => {
    const diagram = edgesOfDiagram();
    expect(diagram.bad).toEqual([]);
    expect(diagram.edges).toEqual(edgesOfTable());
  });

  it('starts in idle', () => {
    expect(edgesOfDiagram().start).toEqual(['idle']);
  });

  it('draws each edge once', () => {
    const { edges } = edgesOfDiagram();
    expect(new Set(edges).size).toBe(edges.length);
  });
});

describe('docs/client.md', () => {
  const doc = read('docs/client.md');
  const source = ['src/client/options.ts', 'src/client/heartbeat-options.ts', 'src/client/reconnect-options.ts', 'src/core/validate.ts'].map(read).join('\n');

  const REQUIRED = [
    'host', 'port', 'endpoints', 'tls', 'connectTimeoutMs',
    'heartbeat.intervalMs', 'heartbeat.timeoutMs',
    'reconnect.maxRetries', 'reconnect.initialDelayMs', 'reconnect.maxDelayMs', 'reconnect.multiplier',
    'reconnect.jitter', 'reconnect.resetAfterMs',
    'keepAlive', 'queue.maxMessages', 'queue.maxBytes', 'queue.overflow',
    'maxFrameBytes', 'closeTimeoutMs', 'token', 'clientId', 'classifyError', 'signal', 'logger', 'unref', 'random',
  ];
  const NESTED: Record<string, string> = { heartbeat: 'HeartbeatConfig', reconnect: 'ReconnectOptions', queue: 'QueueConfig' };
  const declared = interfaceKeys(source, 'ClientOptions').flatMap((key) => {
    const sub = NESTED[key];
    return sub ? [key, ...interfaceKeys(source, sub).map((k) => `${key}.${k}`)] : [key];
  });
  const defaulted = leaves(DEFAULTS);
  const all = [...new Set([...REQUIRED, ...declared, ...defaulted.map(([name]) => name)])].sort();

  it('finds the options in the source', () => {
    expect(declared).toEqual(expect.arrayContaining(['host', 'heartbeat.intervalMs', 'reconnect.jitter', 'queue.overflow']));
  });

  it.each(all)('documents the option %s in a table row', (name) => {
    expect(rowOf(doc, name)).toBeDefined();
  });

  it.each(defaulted)('gives %s its default %p', (name, value) => {
    expect(rowOf(doc, name)).toContain(String(value));
  });

  it.each(['stateChange', 'open', 'close', 'reconnecting', 'message', 'heartbeat', 'giveUp', 'error', 'dropped'])(
    'documents the event %s',
    (event) => {
      expect(rowOf(doc, event)).toBeDefined();
    },
  );

  it.each([
    'state', 'sessionId', 'reconnects', 'retries', 'lastRttMs', 'queued', 'inFlight', 'queuedBytes',
    'messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'duplicatesDropped', 'layers',
  ])('documents the stats() field %s', (field) => {
    expect(rowOf(doc, field)).toBeDefined();
  });
});

describe('docs/server.md', () => {
  const doc = read('docs/server.md');
  const declared = interfaceKeys(read('src/server/options.ts'), 'ServerOptions').flatMap((key) =>
    key === 'queue' ? interfaceKeys(read('src/core/validate.ts'), 'QueueConfig').map((k) => `queue.${k}`) : [key],
  );
  const defaulted = leaves(SERVER_DEFAULTS);
  const all = [...new Set([...declared, ...defaulted.map(([name]) => name)])].sort();

  it('finds the options in the source', () => {
    expect(declared).toEqual(expect.arrayContaining(['port', 'idleTimeoutMs', 'maxConnections', 'authenticate', 'queue.maxBytes']));
  });

  it.each(all)('documents the option %s in a table row', (name) => {
    expect(rowOf(doc, name)).toBeDefined();
  });

  it.each(defaulted)('gives %s its default %p', (name, value) => {
    expect(rowOf(doc, name)).toContain(String(value));
  });
});

describe('code samples in README.md and docs/*.md', () => {
  const blocks = allCodeBlocks(ROOT);
  const complete = blocks.filter((b) => !b.fragment);
  let dir = '';
  /** Written file -> its block. */
  const files = new Map<string, CodeBlock>();

  /**
   * Each complete block as a file of a new project with no package.json (so
   * CommonJS, what `npm init` gives): named as the text says (`file=x.mts`),
   * else `sample.ts`; 'resilient-tcp' and 'resilient-tcp/server' map to src/.
   */
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcp-doc-samples-'));
    for (const b of complete) {
      const file = path.join(dir, b.doc.replace(/[/.]/g, '_'), `L${b.line}`, b.file ?? 'sample.ts');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, b.code);
      files.set(file, b);
    }
    const compilerOptions = {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      paths: {
        'resilient-tcp': [path.join(ROOT, 'src', 'index.ts')],
        'resilient-tcp/server': [path.join(ROOT, 'src', 'server', 'index.ts')],
        // docs/observability.md's recipe uses prom-client, a dev dependency here.
        'prom-client': [path.join(ROOT, 'node_modules', 'prom-client', 'index.d.ts')],
      },
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [...files.keys()] }, null, 2));
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the samples (the quick start, the getting-started pair, each class page)', () => {
    // by content, not line numbers: the pages change around the samples
    const docsWith = (text: string): string[] => [...new Set(complete.filter((b) => b.code.includes(text)).map((b) => b.doc))];
    expect(docsWith('new ResilientClient(')).toEqual(expect.arrayContaining(['README.md', 'docs/client.md', 'docs/getting-started.md']));
    expect(docsWith('new HeartbeatServer(')).toEqual(expect.arrayContaining(['README.md', 'docs/server.md', 'docs/getting-started.md']));
    expect(complete.filter((b) => b.doc === 'docs/getting-started.md').map((b) => b.file)).toEqual(['server.mts', 'client.mts']);
  });

  it('compiles none of the fragments, and every one is marked: a new one must be counted here', () => {
    const count: Record<string, number> = {};
    for (const b of blocks.filter((x) => x.fragment)) count[b.doc] = (count[b.doc] ?? 0) + 1;
    expect(count).toEqual({ 'docs/client.md': 1, 'docs/foreign-protocols.md': 3, 'docs/getting-started.md': 2, 'docs/tuning.md': 1 });
  });

  it('type-checks every complete sample as written (one tsc run over all of them)', async () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { timeout: 120_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
    });
    // "/tmp/…/docs_client_md/L3/client.mts(5,3): error TS…" -> "docs/client.md:8: error TS…"
    const errors = output
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => {
        const m = /^(.*?)\((\d+),\d+\): (.*)$/.exec(l);
        const b = m ? files.get(path.resolve(dir, m[1]!)) : undefined;
        return b && m ? `${b.doc}:${b.line + Number(m[2])}: ${m[3]}` : l;
      });
    expect(errors).toEqual([]);
  }, 120_000);

  it('runs the getting-started server.mts and client.mts as written: the server prints what the client sent', async () => {
    const fileOf = (name: string): string => [...files].find(([, b]) => b.doc === 'docs/getting-started.md' && b.file === name)![0];
    // `npx tsx FILE`, with 'resilient-tcp' mapped to src/ through the tsconfig paths above.
    const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const start = (file: string, env: Record<string, string>): ChildProcess =>
      spawn(process.execPath, [tsx, '--tsconfig', path.join(dir, 'tsconfig.json'), file], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const collect = (c: ChildProcess): (() => string) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        c.emit('output');
      });
      c.stderr!.on('data', (d: Buffer) => {
        out += d.toString();
        c.emit('output');
      });
      return () => out;
    };
    const until = (c: ChildProcess, text: () => string, re: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(text());
          if (m) {
            c.off('output', check);
            c.off('exit', check);
            resolve(m);
          } else if (c.exitCode !== null) reject(new Error(`exited without ${re}:\n${text()}`));
        };
        c.on('output', check);
        c.on('exit', check);
        check();
      });
    const exited = (c: ChildProcess): Promise<number | null> => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code))));

    const before = resourceSnapshot();
    const server = start(fileOf('server.mts'), { PORT: '0' });
    const serverOut = collect(server);
    let client: ChildProcess | undefined;
    try {
      const port = (await until(server, serverOut, /listening on 127\.0\.0\.1:(\d+)/))[1]!;
      client = start(fileOf('client.mts'), { PORT: port, HOST: '127.0.0.1' });
      const clientOut = collect(client);
      expect(await exited(client)).toBe(0);
      expect(clientOut()).toMatch(/idle -> connecting[\s\S]*connecting -> open[\s\S]*open -> closing[\s\S]*closing -> closed/);
      await until(server, serverOut, /sensor-17 #1: \{"temperature":21\.5\}/);
      server.kill('SIGINT'); // the sample closes the server on Ctrl-C
      expect(await exited(server)).toBe(0);
    } finally {
      // tsx runs the file in a child process: kill the group each was started in
      for (const c of [server, client]) {
        if (c?.pid && c.exitCode === null) process.kill(-c.pid, 'SIGKILL');
      }
    }
    await expectResourcesBackTo(before); // no pipe or process handle left behind
  }, 60_000);
});
