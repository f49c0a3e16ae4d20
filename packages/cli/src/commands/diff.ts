/** `digilog-db diff`: the SQL from the migration history (or an empty database) to the schema. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface DiffFlags extends CommonFlags {
  fromEmpty?: boolean;
  fromDatabase?: boolean;
  exitCode?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('diff'))
    .description('print the SQL that takes the migration history to the schema (through a shadow database)')
    .option('--from-database', 'diff from the live database (e.g. changes made by hand) instead of the migration history')
    .option('--from-empty', 'diff from an empty database instead of the migration history')
    .option('--exit-code', 'exit 3 when there is a difference (for CI: "did someone forget a migration?")')
    .addHelpText('after', '\nExamples:\n  $ digilog-db diff\n  $ digilog-db diff --exit-code         # in CI: is a migration missing?\n  $ digilog-db diff --from-database     # what the live database lacks (or has extra)')
    .action(outcomeOf(run, async (flags: DiffFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags, { shadow: !flags.fromDatabase && !flags.fromEmpty });
      if (!paths.schemaPath) throw new DigilogError('usage', 'diff needs a schema', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { diff } = await import('../develop/diff.js');
      const { requireDatabaseUrl } = await import('../config/config.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const result = await diff({
        signal: run.stopSignal(),
        databaseUrl: requireDatabaseUrl(config),
        shadowDatabaseUrl: config.shadowDatabaseUrl,
        schemaPath: paths.schemaPath,
        // Not while a migration runs: its half-applied state is not the database's.
        migrationLock: { waitMs: config.lockWaitMs, onWait: (holder) => terminal.err(`Waiting for the migration lock held by ${describeLockHolder(holder)}`) },
        migrationsDir: paths.migrationsDir,
        from: flags.fromEmpty ? 'empty' : flags.fromDatabase ? 'database' : 'migrations',
      });
      return {
        exitCode: flags.exitCode && result.changed ? EXIT_CODES.pending : EXIT_CODES.ok,
        json: { ok: true, ...result },
        render: () => {
          terminal.out(result.changed ? result.sql : '-- The schema matches the migration history: no difference.');
        },
      };
    }));
}
