/**
 * `node --require ./bench/ts-require.cjs file.ts`: loads .ts files by
 * transpiling each with TypeScript (ES2022, CommonJS), as the dist build
 * does. Why not tsx for the measured code: tsx runs esbuild with keepNames,
 * which wraps every function expression in a `__name(fn, "…")` call, i.e. an
 * Object.defineProperty per closure created. In a hot path that builds
 * closures per call that is ~30% of the CPU profile, and none of it exists in
 * the built package (measured: bench/throughput.ts fire-and-forget, 64 B).
 *
 * Output is cached in the OS temp dir by content hash, so the many helper
 * processes a run starts do not each load the compiler.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CACHE = path.join(os.tmpdir(), `rtcp-bench-ts-cache-${process.getuid ? process.getuid() : 'u'}`);
let ts;

function transpile(source, filename) {
  ts ??= require('typescript');
  const compilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: false,
  };
  return ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText;
}

require.extensions['.ts'] = function loadTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const key = crypto.createHash('sha1').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE, `${key}.js`);
  let out;
  try {
    out = fs.readFileSync(cached, 'utf8');
  } catch {
    out = transpile(source, filename);
    try {
      fs.mkdirSync(CACHE, { recursive: true });
      const tmp = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, out);
      fs.renameSync(tmp, cached); // atomic: parallel processes never read half a file
    } catch {
      // no cache: still correct, only slower
    }
  }
  module._compile(out, filename);
};
