// The run's last line, "N passed, N failed" (", N skipped" may follow), from vitest's JSON report;
// the line before it names the reason of each skip (never a silent skip).
// Usage: node .ci/summary.mjs test-results.json
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2] ?? 'test-results.json', 'utf8'));
// A file that failed to load has no tests: it counts as one failure.
const failed = r.numFailedTests + (r.numRuntimeErrors || 0) + r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
const reasons = new Map();
for (const a of r.testResults.flatMap((f) => f.assertionResults)) {
  const reason = a.meta?.skipReason;
  if (a.status !== 'passed' && reason) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
}
for (const [reason, n] of reasons) console.log(`${n} skipped: ${reason}`);
console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ''));
