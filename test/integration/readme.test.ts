import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

describe('README quick start', () => {
  it('is the code of examples/quick-start.ts, which runs as written', async () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync(path.join(root, 'examples', 'quick-start.ts'), 'utf8')
      .split('\n')
      .filter((l, i) => !(i < 3 && l.startsWith('//')))
      .join('\n')
      .replace("'../src/index'", "'resilient-tcp'")
      .replace("'../src/server/index'", "'resilient-tcp/server'");
    expect(block?.trim()).toBe(example.trim());

    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        path.join(root, 'node_modules', '.bin', 'tsx'),
        [path.join(root, 'examples', 'quick-start.ts')],
        { timeout: 20_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    expect(out).toMatch(/idle -> connecting/);
    expect(out).toMatch(/got #1: echo hello/);
    expect(out).toMatch(/open -> closing/);
  });
});
