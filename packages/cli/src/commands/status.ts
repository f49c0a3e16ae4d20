/** `digilog-db status`: what is applied, pending, failed or edited; the exit code says which. */
import type { Command } from 'commander';
import { DigilogError, EXIT_CODES, STATUS_EXIT_KIND } from '../errors.js';
import type { StatusResult } from '../operations/check-status.js';
import type { Terminal } from '../output/terminal.js';
import { commandContext, setExitCode, withCommonOptions, type CommonFlags } from './common.js';

interface StatusFlags extends CommonFlags {
  prometheus?: boolean;
}

export function register(program: Command): void {
  withCommonOptions(program.command('status'))
    .description('compare the migrations folder with the database; exit code 0 only when up to date')
    .option('--prometheus', 'print the migration metrics in Prometheus text format (for a node_exporter textfile collector)')
    .addHelpText(
      'after',
      `
Exit codes: 0 up to date, 3 pending, 6 failed migration, 7 edited, renamed or missing from disk,
            8 database unreachable, 10 schema not managed by migrations (baseline needed).

Examples:
  $ digilog-db status
  $ digilog-db status --json | jq .pending
  $ digilog-db status --prometheus > digilog.prom.tmp; mv digilog.prom.tmp /var/lib/node_exporter/digilog.prom`,
    )
    .action(async (flags: StatusFlags) => {
      if (flags.prometheus && flags.json) throw new DigilogError('usage', '--prometheus and --json cannot be combined', { hint: 'Pick one output format.' });
      const { config, paths, terminal } = await commandContext(flags);
      const { checkStatus } = await import('../operations/check-status.js');
      const { runnerOptions } = await import('../operations/runner-options.js');
      if (flags.prometheus) return printPrometheus(() => checkStatus(runnerOptions(config, paths)));
      const result = await checkStatus(runnerOptions(config, paths), { rollbackTargets: terminal.json });
      if (terminal.json) terminal.printJson({ ok: result.state === 'upToDate', ...result });
      else printStatus(terminal, result);
      setExitCode(EXIT_CODES[STATUS_EXIT_KIND[result.state]]);
    });
}

/**
 * Metrics instead of text; the exit code is still status's. An unreachable database still prints
 * `digilog_database_up 0`, so a textfile collector reports the outage instead of an empty file.
 */
async function printPrometheus(check: () => Promise<StatusResult>): Promise<void> {
  const { migrationMetrics } = await import('../metrics/migration-metrics.js');
  const { renderFamilies } = await import('../metrics/prometheus.js');
  let result: StatusResult;
  try {
    result = await check();
  } catch (error) {
    if (error instanceof DigilogError && error.kind === 'unreachable') process.stdout.write(await renderFamilies(migrationMetrics(null)));
    throw error;
  }
  process.stdout.write(await renderFamilies(migrationMetrics(result)));
  setExitCode(EXIT_CODES[STATUS_EXIT_KIND[result.state]]);
}

function printStatus(terminal: Terminal, status: StatusResult): void {
  const { color } = terminal;
  terminal.out(`${status.localCount} migration${status.localCount === 1 ? '' : 's'} found in ${status.migrationsDir}`);
  terminal.out(`Database: ${status.database} (schema "${status.schema}")`);
  terminal.out();
  for (const f of status.failed) {
    terminal.out(`${color.red('✖ failed')}   ${f.name} (started ${f.startedAt.toISOString()})`);
    if (f.logs) terminal.out(color.dim(f.logs.trimEnd().replace(/^/gm, '             ')));
    terminal.out(`             Next: fix and run \`digilog-db resolve --rolled-back "${f.name}"\`, or \`digilog-db resolve --applied "${f.name}"\` if completed by hand`);
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
    terminal.out(`${color.red('↷ renamed')}  ${r.to} is ${r.from} (applied) under a new name; migrate will not run it again\n             Next: \`digilog-db resolve --applied "${r.to}"\` to record the rename, or rename the folder back`);
  }
  for (const name of status.pending) {
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
  if (status.state === 'notManaged') terminal.out('Next: baseline with `digilog-db resolve --applied "<name>"` for each migration already in the database.');
}
