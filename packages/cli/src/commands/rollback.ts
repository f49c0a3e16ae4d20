/** `digilog-db rollback --to <migration> | --last N`: undo applied migrations with one new forward migration. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { dirname, join } from 'node:path';
import { DigilogError, EXIT_CODES } from '../errors.js';
import type { PreparedRollback, RollbackResult } from '../develop/rollback.js';
import { rollbackJson } from '../output/json.js';
import { canAsk, confirmOrStop, needsConfirmation } from '../output/prompt.js';
import { printFindings } from '../output/findings.js';
import type { Terminal } from '../output/terminal.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';
import { wholeNumberFlag } from './option-values.js';

interface RollbackFlags extends CommonFlags {
  to?: string;
  last?: number;
  createOnly?: boolean;
  yes?: boolean;
  allowDangerous?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('rollback'))
    .description('undo the migrations applied after a target with one new forward migration (down SQL from down.sql or the schema engine), classified, reviewed and applied under the lock')
    .option('--to <migration>', 'the applied migration to go back to (its folder name)')
    .option('--last <n>', 'undo the last n applied migrations', wholeNumberFlag('--last'))
    .option('--create-only', 'write the rollback migration and set schema.prisma back, but do not apply it (then: digilog-db migrate)')
    .option('-y, --yes', 'apply without asking')
    .option('--allow-dangerous', 'acknowledge its Dangerous changes (written into the new file as -- digilog:allow, so every environment accepts it)')
    .addHelpText(
      'after',
      `
The undone migrations' committed down.sql files are used where present (\`digilog-db dev\`
writes them; \`digilog-db down-sql <migration>\` regenerates one); the rest is computed by
Prisma's schema engine from the history (through a shadow database). The result becomes
prisma/migrations/<timestamp>_rollback_to_<target>/migration.sql: the history stays
append-only and \`migrate\` (or \`prisma migrate deploy\`) applies it everywhere.
prisma/schema.prisma is set back to the target (introspected from the shadow database at
the target, keeping its generator and datasource blocks). With NODE_ENV=production a
rollback that drops data is refused (exit 4) unless --allow-dangerous.

Examples:
  $ digilog-db rollback --last 1                # review, confirm, apply
  $ digilog-db rollback --to 20240101000000_init --create-only   # review the file, commit, deploy
  $ NODE_ENV=production digilog-db rollback --last 1 --yes --allow-dangerous`,
    )
    .action(outcomeOf(run, async (flags: RollbackFlags) => {
      if ((flags.to === undefined) === (flags.last === undefined)) {
        throw new DigilogError('usage', 'rollback needs exactly one of --to <migration> or --last <n>', { hint: 'Run `digilog-db status` to see the applied migrations.' });
      }
      const { config, paths, terminal } = await commandContext(run, flags, { shadow: true });
      // Nobody could answer the prompt: say so before any work.
      if (!flags.createOnly && !flags.yes && !canAsk(terminal)) throw needsConfirmation('rollback');
      const { rollback } = await import('../develop/rollback.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      const { chooseBackupDir } = await import('../deploy/backup.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const options = runnerOptions(config, paths);
      const projectDir = dirname(paths.schemaPath ? dirname(paths.schemaPath) : paths.migrationsDir);
      const spinner = await terminal.spinner('Computing the rollback through a shadow database');
      const result = await rollback({
        signal: run.stopSignal(),
        ...options,
        selector: flags.to !== undefined ? { to: flags.to } : { last: flags.last! },
        createOnly: flags.createOnly === true,
        allowDangerous: flags.allowDangerous === true,
        shadowDatabaseUrl: config.shadowDatabaseUrl,
        backupDir: chooseBackupDir(undefined, config, join(projectDir, '.digilog', 'backups')),
        onEvent(event) {
          if (event.type === 'lock-wait') terminal.err(`Waiting for the migration lock held by ${describeLockHolder(event.holder)}`);
          if (event.type === 'warning') terminal.err(`${terminal.color.yellow('Warning:')} ${event.message}`);
        },
        async review(prepared) {
          spinner.stop();
          printPrepared(terminal, prepared);
          if (!flags.createOnly && !flags.yes) await confirmOrStop(terminal, `Apply this rollback to ${options.target.label}?`, 'rollback');
        },
      });
      spinner.stop();
      return { exitCode: EXIT_CODES.ok, json: rollbackJson(result), render: () => printResult(terminal, result) };
    }));
}

function printPrepared(terminal: Terminal, prepared: PreparedRollback): void {
  const { color } = terminal;
  terminal.out(`Rollback to ${prepared.target}: undoes ${prepared.undone.join(', ')}\n`);
  terminal.out(`${prepared.migration}/migration.sql:`);
  terminal.out(color.dim(prepared.sql.trimEnd().replace(/^/gm, '    | ')));
  terminal.out();
  printFindings(terminal, { name: prepared.migration, worst: prepared.plan.steps[0]!.worst, findings: prepared.plan.steps[0]!.findings });
  for (const note of prepared.notes) terminal.err(`${color.yellow('Not undone:')} ${note}`);
}

function printResult(terminal: Terminal, result: RollbackResult): void {
  const { color } = terminal;
  if (result.action === 'nothing-to-undo') {
    terminal.out(result.undone.length === 0 ? `Nothing to roll back: ${result.target} is the latest applied migration.` : `Nothing to roll back: the schema at ${result.target} is the schema now (no migration written).`);
    for (const note of result.notes ?? []) terminal.err(`${color.yellow('Not undone:')} ${note}`);
    return;
  }
  terminal.out(`Created ${result.migration}/migration.sql${result.schemaPath ? `; ${result.schemaPath} set back to ${result.target}` : ''}.`);
  if (result.action === 'created') terminal.out('Not applied yet: review and commit it, then run `digilog-db migrate`.');
  else terminal.out(color.green(`Applied. The database is back at ${result.target} (${result.database}).`));
}
