// The run's last line, "N passed, N failed" (", N skipped" may follow), from vitest's JSON reports
// (several: their sum); the lines before it name the reason of each skip (never a silent skip).
// Usage: node .ci/summary.mjs [--label WORD] test-results.json [more.json ...]
//   --label prints "WORD: N passed, N failed" for one run, without the skip reasons.
// A report that does not exist (the run could not start) counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const label = args[0] === '--label' ? (args.splice(0, 2)[1] ?? '') : undefined;
const files = args.length ? args : ['test-results.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
const reasons = new Map();
for (const file of files) {
  if (!existsSync(file)) {
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  // A file that failed to load has no tests: it counts as one failure.
  failed += r.numFailedTests + (r.numRuntimeErrors || 0) + r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  skipped += r.numPendingTests;
  for (const a of r.testResults.flatMap((f) => f.assertionResults)) {
    const reason = a.meta?.skipReason;
    if (a.status !== 'passed' && reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
}
if (label === undefined) for (const [reason, n] of reasons) console.log(`${n} skipped: ${reason}`);
console.log(`${label ? `${label}: ` : ''}${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
