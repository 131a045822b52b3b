// Two entry points (client and server), each as ESM + CJS, with bundled
// declarations for both module systems (.d.ts and .d.cts: a CJS consumer on
// `module: node16` needs .d.cts, see DESIGN.md toolchain facts).
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { builtinModules } from 'node:module';

const external = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'eventemitter3'];
const entries = { index: 'src/index.ts', server: 'src/server/index.ts' };
const ts = () => typescript({ tsconfig: './tsconfig.build.json', declaration: false, declarationDir: undefined, sourceMap: false });

export default [
  {
    input: entries,
    external,
    plugins: [ts()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].mjs', chunkFileNames: 'shared-[hash].mjs' },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'shared-[hash].cjs', exports: 'named' },
    ],
  },
  {
    // The command is CommonJS only (it checks require.main).
    input: 'src/cli.ts',
    external,
    plugins: [ts()],
    output: { file: 'dist/cli.cjs', format: 'cjs', banner: '#!/usr/bin/env node' },
  },
  ...['index', 'server'].flatMap((name) =>
    ['d.ts', 'd.cts'].map((ext) => ({
      input: entries[name],
      external,
      plugins: [dts({ tsconfig: './tsconfig.build.json' })],
      output: { file: `dist/${name}.${ext}`, format: 'es' },
    })),
  ),
];
