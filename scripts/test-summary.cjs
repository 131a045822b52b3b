// Prints one plain closing line for the whole `npm test` run, from Jest's
// JSON results plus the dist smoke check: "tests: N passed, N failed, N skipped".
// `npm test` runs Jest twice: every suite but the chaos soak, then the soak on
// its own (it needs the CPU to itself; see docs/testing.md).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const files = ['.jest-results.json', '.jest-soak-results.json'];
const runs = files.map((f) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', f), 'utf8')));
const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
const smoke = 1; // test/smoke-dist.cjs exits non-zero on failure, so reaching here means it passed
const passed = sum('numPassedTests') + smoke;
const failed = sum('numFailedTests');
const skipped = sum('numPendingTests') + sum('numTodoTests');
if (runs.some((r) => r.numTotalTests === 0)) {
  console.error(`no test ran in one of ${files.join(', ')}`);
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || runs.some((r) => !r.success) ? 1 : 0);
