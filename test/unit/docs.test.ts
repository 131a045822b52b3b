/**
 * Keeps docs/ in step with the code: every error code, every state-machine
 * edge and every option (with its default) must be documented. When one of
 * these fails, update the page named in the failure, not the test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  const source = read('src/client/options.ts') + read('src/core/validate.ts');

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
