// Prints one plain closing line for the whole `npm test` run, from Jest's
// JSON results plus the dist smoke check: "tests: N passed, N failed, N skipped".
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', '.jest-results.json');
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const smoke = 1; // test/smoke-dist.cjs exits non-zero on failure, so reaching here means it passed
const passed = r.numPassedTests + smoke;
const failed = r.numFailedTests;
const skipped = r.numPendingTests + r.numTodoTests;
if (r.numTotalTests === 0) {
  console.error('no test ran');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || !r.success ? 1 : 0);
