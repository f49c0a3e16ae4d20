/** `digilog-db status`: what is applied, pending, failed or edited; the exit code says which. */
import type { Command } from 'commander';
import type { Outcome, Run } from './run.js';
import { DigilogError, EXIT_CODES, STATUS_EXIT_KIND } from '../errors.js';
import type { StatusResult } from '../status/check-status.js';
import { statusJson } from '../output/json.js';
import { printStatus } from '../output/status.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';
import { resolveFormat, withFormatOption } from '../output/format.js';

interface StatusFlags extends CommonFlags {
  prometheus?: boolean;
}

export function register(program: Command, run: Run): void {
  withFormatOption(withCommonOptions(program.command('status')))
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
    .action(outcomeOf(run, async (flags: StatusFlags) => {
      const format = resolveFormat(flags);
      if (flags.prometheus && format !== 'text') throw new DigilogError('usage', `--prometheus and ${flags.format ? `--format ${format}` : '--json'} cannot be combined`, { hint: 'Pick one output format.' });
      const { config, paths, terminal } = await commandContext(run, flags);
      const { checkStatus } = await import('../status/check-status.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      if (flags.prometheus) return printPrometheus(() => checkStatus(runnerOptions(config, paths)));
      const result = await checkStatus(runnerOptions(config, paths), { rollbackTargets: terminal.json });
      return {
        exitCode: EXIT_CODES[STATUS_EXIT_KIND[result.state]],
        json: statusJson(result),
        report: { command: 'status', result },
        render: () => {
          printStatus(terminal, result);
        },
      };
    }));
}

/**
 * Metrics instead of text; the exit code is still status's. An unreachable database still prints
 * `digilog_database_up 0`, so a textfile collector reports the outage instead of an empty file.
 */
async function printPrometheus(check: () => Promise<StatusResult>): Promise<Outcome> {
  const { migrationMetrics } = await import('../metrics/migration-metrics.js');
  const { renderFamilies } = await import('../metrics/prometheus.js');
  let result: StatusResult;
  try {
    result = await check();
  } catch (error) {
    if (error instanceof DigilogError && error.kind === 'unreachable') process.stdout.write(await renderFamilies(migrationMetrics(null)));
    throw error;
  }
  const text = await renderFamilies(migrationMetrics(result));
  return { exitCode: EXIT_CODES[STATUS_EXIT_KIND[result.state]], render: () => void process.stdout.write(text) };
}

