/** Human rendering of `status`: one line per migration that needs attention, then the summary and the next command. */
import { resolveApplied, resolveRolledBack } from '../status/next-steps.js';
import type { StatusResult } from '../status/check-status.js';
import type { Terminal } from './terminal.js';

export function printStatus(terminal: Terminal, status: StatusResult): void {
  const { color } = terminal;
  terminal.out(`${status.localCount} migration${status.localCount === 1 ? '' : 's'} found in ${status.migrationsDir}`);
  terminal.out(`Database: ${status.database} (schema "${status.schema}")`);
  terminal.out();
  for (const f of status.failed) {
    terminal.out(`${color.red('✖ failed')}   ${f.name} (started ${f.startedAt.toISOString()})`);
    if (f.logs) terminal.out(color.dim(f.logs.trimEnd().replace(/^/gm, '             ')));
    terminal.out(`             Next: fix and run \`${resolveRolledBack(f.name)}\`, or \`${resolveApplied(f.name)}\` if completed by hand`);
  }
  for (const name of status.running) {
    terminal.out(`${color.yellow('⏳ running')}  ${name} is being applied by process ${status.lockHolder?.pid ?? 'unknown'}`);
  }
  for (const e of status.edited) {
    // Whole checksums: a reviewer compares them with `sha256sum` of the file in git history.
    terminal.out(`${color.red('✎ edited')}   ${e.name} (${e.path})\n             recorded checksum ${e.recordedChecksum}\n             file checksum     ${e.fileChecksum}`);
  }
  for (const name of status.missingFromDisk) terminal.out(`${color.red('? missing')}  ${name} is applied but not in the migrations folder`);
  for (const r of status.renamed) {
    terminal.out(`${color.red('↷ renamed')}  ${r.to} is ${r.from} (applied) under a new name; migrate will not run it again\n             Next: \`${resolveApplied(r.to)}\` to record the rename, or rename the folder back`);
  }
  for (const { name } of status.pending) {
    const late = status.outOfOrder.includes(name) ? color.yellow(' (older than the newest applied migration)') : '';
    terminal.out(`${color.yellow('• pending')}  ${name}${late}`);
  }
  for (const slow of status.slow) {
    terminal.out(`${color.yellow('⌛ slow')}     ${slow.name} took ${(slow.durationMs / 1000).toFixed(1)} s, over its budget of ${(slow.budgetMs / 1000).toFixed(1)} s`);
  }
  for (const index of status.invalidIndexes) {
    terminal.out(`${color.red('✖ invalid')}  index "${index}" is INVALID (failed or interrupted CREATE INDEX CONCURRENTLY): DROP INDEX CONCURRENTLY "${index}", then re-create it`);
  }
  if (status.lockHolder) {
    terminal.out(`${color.yellow('⏳ locked')}   migration lock held by process ${status.lockHolder.pid} (${status.lockHolder.applicationName ?? 'unknown'}, ${status.lockHolder.state ?? 'unknown'})`);
  }
  if (status.failed.length + status.edited.length + status.missingFromDisk.length + status.renamed.length + status.pending.length > 0) terminal.out();
  const summaryColor = status.state === 'upToDate' ? color.green : status.state === 'pending' ? color.yellow : color.red;
  terminal.out(summaryColor(status.summary));
  if (status.state === 'pending') terminal.out('Next: run `digilog-db migrate`.');
  if (status.state === 'notManaged') terminal.out(`Next: baseline with \`${resolveApplied('<name>')}\` for each migration already in the database.`);
}
