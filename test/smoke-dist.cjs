// After `npm run build`: the published files load as CommonJS and as ES
// modules, carry their own declarations, and do a real round trip.
'use strict';
const { execFileSync } = require('node:child_process');
const assert = require('node:assert');
const path = require('node:path');

async function roundTrip(label, client, server) {
  const srv = new server.HeartbeatServer({ host: '127.0.0.1' });
  const { port } = await srv.listen();
  const got = new Promise((resolve) => srv.once('message', (_s, p) => resolve(p.toString())));
  const c = new client.ResilientClient({ host: '127.0.0.1', port });
  await c.connect();
  await c.send(label);
  assert.strictEqual(await got, label);
  await c.close();
  await srv.close();
}

(async () => {
  const dist = path.join(__dirname, '..', 'dist');
  await roundTrip('cjs', require(path.join(dist, 'index.cjs')), require(path.join(dist, 'server.cjs')));
  const esmClient = await import(path.join(dist, 'index.mjs'));
  const esmServer = await import(path.join(dist, 'server.mjs'));
  await roundTrip('esm', esmClient, esmServer);
  // Declarations resolve for CJS and ESM consumers on module node16.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, 'consumer')], { stdio: 'inherit' });
  // The command runs from the build.
  const help = execFileSync(process.execPath, [path.join(dist, 'cli.cjs'), '--help']).toString();
  assert.match(help, /demo/);
  console.log('dist smoke check OK: CommonJS, ES module, declarations, command');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
