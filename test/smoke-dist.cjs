// After `npm run build`: the package as published. One `npm pack`, then
// - publint and @arethetypeswrong/cli on the tarball must be clean, and its
//   Markdown links must point at files it contains;
// - the tarball is installed (offline) into a temporary project, where the
//   consumers in test/consumer/ (one ES module, one CommonJS) type-check under
//   module/moduleResolution node16, nodenext, bundler and node10, are compiled
//   and run (test/consumer/run.mjs: import and require share one
//   implementation, real round trips, net-keepalive absent is reported);
// - the installed command runs.
'use strict';
const { execFileSync } = require('node:child_process');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The module/moduleResolution pairs a consumer may use. nodenext also emits
 * what run.mjs runs and checks the declaration files themselves (with Node's
 * types, the slow part); the others check how the consumers resolve and use them.
 */
const MODES = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', noEmit: false, outDir: 'out', skipLibCheck: false },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
  node10: { module: 'commonjs', moduleResolution: 'node10' },
};

function run(file, args, cwd = root) {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

function lint(tarball) {
  const publint = run(bin('publint'), ['--strict', '--level', 'suggestion', tarball]);
  assert.match(publint, /All good!/, `publint is not clean:\n${publint}`);
  run(bin('attw'), [tarball]); // exits non-zero on any problem, node10 included
}

/** Relative Markdown links in the tarball must point at files in the tarball (docs cite repository files by name, not by link). */
function linksResolve(files) {
  const shipped = new Set(files.map((f) => f.path));
  const dangling = [];
  for (const md of shipped) {
    if (!md.endsWith('.md')) continue;
    const text = fs.readFileSync(path.join(root, md), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const file = path.posix.normalize(path.posix.join(path.posix.dirname(md), target)).replace(/\/$/, '');
      if (!shipped.has(file) && ![...shipped].some((f) => f.startsWith(`${file}/`))) dangling.push(`${md} -> ${target}`);
    }
  }
  assert.deepStrictEqual(dangling, [], 'Markdown links into files the package does not ship');
}

function installConsumer(tarball, dir) {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  // Offline: the one runtime dependency is installed from this repository's node_modules.
  const deps = Object.keys(require(path.join(root, 'package.json')).dependencies).map((d) => path.join(root, 'node_modules', d));
  run(npm, ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts', '--no-package-lock', tarball, ...deps], dir);
  // TypeScript and Node's types come from this repository, not from the registry.
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir');
  for (const f of fs.readdirSync(path.join(__dirname, 'consumer'))) {
    fs.copyFileSync(path.join(__dirname, 'consumer', f), path.join(dir, f));
  }
}

function typeCheckAndRun(dir) {
  for (const [name, compilerOptions] of Object.entries(MODES)) {
    const config = `tsconfig.${name}.json`;
    fs.writeFileSync(path.join(dir, config), JSON.stringify({ extends: './tsconfig.json', compilerOptions }));
    run(process.execPath, [tsc, '-p', config], dir);
  }
  process.stdout.write(run(process.execPath, ['run.mjs'], dir));
  const help = run(path.join(dir, 'node_modules', '.bin', 'resilient-tcp'), ['--help'], dir);
  assert.match(help, /demo/);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resilient-tcp-smoke-'));
try {
  const packed = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', tmp]));
  const tarball = path.join(tmp, packed[0].filename);
  lint(tarball);
  linksResolve(packed[0].files);
  const project = path.join(tmp, 'consumer');
  fs.mkdirSync(project);
  installConsumer(tarball, project);
  typeCheckAndRun(project);
  console.log(`dist smoke check OK: publint, attw, ES module and CommonJS consumers (${Object.keys(MODES).join(', ')}), command`);
} catch (err) {
  console.error(err.message ?? err);
  process.exitCode = 1;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
