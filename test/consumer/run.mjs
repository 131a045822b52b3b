// Run by test/smoke-dist.cjs in a temporary project where the packed tarball is
// installed, after tsc compiled consumer.mts/.cts (nodenext) into out/.
// One implementation: `import` and `require` of either entry point give the
// same objects, so an error made through one is instanceof the other's class.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as esmIndex from 'resilient-tcp';
import * as esmServer from 'resilient-tcp/server';
import * as esmConsumer from './out/consumer.mjs';

const require = createRequire(import.meta.url);
const cjsIndex = require('resilient-tcp');
const cjsServer = require('resilient-tcp/server');
const cjsConsumer = require('./out/consumer.cjs');

for (const [entry, esm, cjs] of [['resilient-tcp', esmIndex, cjsIndex], ['resilient-tcp/server', esmServer, cjsServer]]) {
  const names = Object.keys(cjs).filter((n) => n !== '__esModule').sort();
  assert.deepEqual(Object.keys(esm).sort(), names, `${entry}: import and require give the same names (and no default)`);
  for (const n of names) assert.equal(esm[n], cjs[n], `${entry}: import and require give the same ${n}`);
}
assert.equal(esmServer.ResilientError, esmIndex.ResilientError, 'resilient-tcp/server re-exports the one ResilientError');

const fromEsm = await esmConsumer.closedError();
const fromCjs = await cjsConsumer.closedError();
for (const err of [fromEsm, fromCjs]) {
  assert.ok(err instanceof esmIndex.ResilientError, 'instanceof the imported ResilientError');
  assert.ok(err instanceof cjsIndex.ResilientError, 'instanceof the required ResilientError');
  assert.equal(err.code, 'ERR_CLOSED');
}

assert.equal(await esmConsumer.roundTrip('esm'), 'esm');

// net-keepalive is an optional peer dependency, not installed here.
assert.throws(() => require.resolve('net-keepalive'), { code: 'MODULE_NOT_FOUND' });
const { layers, warnings } = await cjsConsumer.deadAfterWithoutNetKeepalive();
assert.equal(layers.userTimeoutMs, false, 'TCP_USER_TIMEOUT reported off');
assert.equal(layers.heartbeat, true, 'the heartbeat still runs');
if (process.platform === 'linux') {
  assert.equal(warnings.length, 1, `one warning, got ${JSON.stringify(warnings)}`);
  assert.match(warnings[0], /npm install net-keepalive/);
} else {
  assert.deepEqual(warnings, [], 'no TCP_USER_TIMEOUT outside Linux, nothing to say');
}
console.log('consumer OK: import and require share one implementation; round trips; net-keepalive absent is reported');
