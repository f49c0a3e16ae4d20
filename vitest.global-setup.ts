/** Starts each run with no reliability evidence from an earlier run; ends it saying which histories it went without. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkloads } from './packages/cli/test/support/migrations.js';

export default function setup(): () => void {
  rmSync(join(import.meta.dirname, 'reliability-results.jsonl'), { force: true });
  // Visible in every run, never silent: the tests on the real histories were skipped, and why.
  return () => {
    const found = findWorkloads();
    if ('reason' in found && process.env.DIGILOG_WORKLOADS !== 'require') console.log(`\nSkipped the tests on the real histories: ${found.reason}\n`);
  };
}
