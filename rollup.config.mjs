// One implementation, two module systems (the layout ws uses):
// - dist/index.cjs and dist/server.cjs are the library (CommonJS, one shared chunk);
// - dist/index.mjs and dist/server.mjs are thin ES module wrappers that import
//   the .cjs file and re-export its names, so `import` and `require` in one
//   process share one ResilientError class;
// - declarations: .d.cts describes the .cjs files; .d.mts re-exports it for the
//   .mjs wrappers (with "type": "commonjs" a plain .d.ts would be read as
//   CommonJS by ES module consumers: "Masquerading as CJS");
// - dist/cli.cjs requires ./index.cjs and ./server.cjs instead of bundling a copy.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { builtinModules } from 'node:module';
import path from 'node:path';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'eventemitter3'];
const entries = { index: 'src/index.ts', server: 'src/server/index.ts' };
const ts = () => typescript({ tsconfig: './tsconfig.build.json', declaration: false, declarationDir: undefined, sourceMap: false });

/** The public entry modules, by absolute path, and the built file the CLI requires for each. */
const entryFiles = new Map(Object.entries(entries).map(([name, file]) => [path.resolve(file), `./${name}.cjs`]));
/** Modules of the library build, recorded so the CLI build can refuse to bundle a copy of any. */
const libraryModules = new Set();

/**
 * Emits, beside each entry file `<name><fromExt>`, a file `<name><toExt>`
 * whose text `source(name, chunk)` writes.
 */
function companions(plugin, fromExt, toExt, source) {
  return {
    name: plugin,
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.isEntry) continue;
        const name = chunk.fileName.slice(0, -fromExt.length);
        this.emitFile({ type: 'asset', fileName: `${name}${toExt}`, source: source(name, chunk) });
      }
    },
  };
}

/** `<entry>.mjs`: an ES module wrapper re-exporting the CommonJS entry's runtime names. */
const esmWrappers = () =>
  companions('esm-wrappers', '.cjs', '.mjs', (name, chunk) =>
    `// ES module entry: the implementation is ./${name}.cjs (one copy for import and require).\n` +
    `import lib from './${name}.cjs';\n\n` +
    `export const {\n${[...chunk.exports].sort().map((n) => `  ${n},\n`).join('')}} = lib;\n`,
  );

/** `<entry>.d.mts`: the wrapper's declarations are the CommonJS entry's. */
const esmDeclarations = () => companions('esm-declarations', '.d.cts', '.d.mts', (name) => `export * from './${name}.cjs';\n`);

/** Records the library's modules (a later build checks against them). */
function recordModules() {
  return {
    name: 'record-modules',
    buildEnd() {
      for (const id of this.getModuleIds()) if (!id.startsWith('\0')) libraryModules.add(id);
    },
  };
}

/** Fails the CLI build if it would bundle any module of the library instead of requiring it. */
function noLibraryCopy() {
  return {
    name: 'no-library-copy',
    generateBundle(_options, bundle) {
      if (libraryModules.size === 0) this.error('the library build must run before the CLI build');
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const copied = Object.keys(chunk.modules).filter((id) => libraryModules.has(id));
        if (copied.length > 0) {
          this.error(
            `the CLI bundles library modules (${copied.map((id) => path.relative('.', id)).join(', ')}); ` +
              `import them from src/index.ts or src/server/index.ts instead`,
          );
        }
      }
    },
  };
}

export default [
  {
    input: entries,
    external: nodeBuiltins,
    plugins: [ts(), recordModules(), esmWrappers()],
    output: {
      dir: 'dist',
      format: 'cjs',
      entryFileNames: '[name].cjs',
      chunkFileNames: 'shared-[hash].cjs',
      exports: 'named',
    },
  },
  {
    // The command is CommonJS only (it checks require.main).
    input: 'src/cli/main.ts',
    external: (id) => nodeBuiltins.includes(id) || entryFiles.has(id),
    plugins: [ts(), noLibraryCopy()],
    output: {
      file: 'dist/cli.cjs',
      format: 'cjs',
      banner: '#!/usr/bin/env node',
      paths: (id) => entryFiles.get(id) ?? id,
    },
  },
  // Declarations of the CommonJS files (stripInternal in tsconfig.build.json drops @internal members).
  {
    input: entries,
    external: nodeBuiltins,
    plugins: [dts({ tsconfig: './tsconfig.build.json' }), esmDeclarations()],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: 'shared-[hash].d.cts' },
  },
];
