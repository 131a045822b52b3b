/**
 * The layers of src/ (docs/architecture.md): arrows point down, `import type`
 * included, and no file imports itself back through a cycle.
 *   core (pure) < protocol (wire format) < io (sockets, timers) < client, server < cli
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', '..', 'src');
const RANK: Record<string, number> = { core: 0, protocol: 1, io: 2, client: 3, server: 3, cli: 4 };

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const p of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(p)) return p;
  return undefined;
}

/** Every relative import of `file` (value or type, static or dynamic), resolved to a file. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1] as string);
  return specs.map((s) => resolve(file, s)).filter((p): p is string => p !== undefined);
}

/** The layer of a file: its folder under src/, or 'root' (index.ts and the CLI entry points). */
function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? 'root' : (rel[0] as string);
}

const graph = new Map(files(SRC).map((f) => [f, importsOf(f)]));
const rel = (f: string): string => path.relative(SRC, f);

describe('the layers of src/', () => {
  it('every folder is a known layer', () => {
    for (const f of graph.keys()) {
      const layer = layerOf(f);
      if (layer !== 'root') expect(Object.keys(RANK)).toContain(layer);
    }
  });

  it('arrows point down: a file imports only from its own layer or the ones below', () => {
    const up: string[] = [];
    for (const [f, deps] of graph) {
      const from = layerOf(f);
      if (from === 'root') continue;
      for (const d of deps) {
        const to = layerOf(d);
        // A product never imports the other product; nothing below the CLI imports the entry points
        // (the CLI uses only them, so the build can require the package instead of bundling a copy).
        const ok = to === 'root' ? from === 'cli' : from === to || (RANK[to] as number) < (RANK[from] as number);
        if (!ok) up.push(`${rel(f)} -> ${rel(d)}`);
      }
    }
    expect(up).toEqual([]);
  });

  it('no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('no file over 300 lines without a sentence saying why', () => {
    const long = [...graph.keys()].filter((f) => {
      const text = fs.readFileSync(f, 'utf8');
      const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
      return lines > 300 && !/Over 300 lines:/.test(text);
    });
    expect(long.map(rel)).toEqual([]);
  });
});
