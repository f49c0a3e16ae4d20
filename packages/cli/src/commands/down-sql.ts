/** `digilog-db down-sql <migration>`: (re)generate the down.sql of an existing migration. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { EXIT_CODES } from '../errors.js';
import { downSqlJson } from '../output/json.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface DownSqlFlags extends CommonFlags {
  print?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('down-sql'))
    .description("write <migration>/down.sql: the SQL that undoes it, computed by Prisma's schema engine from the history (through a shadow database)")
    .argument('<migration>', 'folder name of the migration, e.g. 20240101000000_init')
    .option('--print', 'print the down SQL instead of writing down.sql')
    .addHelpText(
      'after',
      `
down.sql is for review and for \`digilog-db rollback\`; \`migrate\` and Prisma never run it, and it
is in no checksum. \`digilog-db dev\` writes it for each new migration.

Examples:
  $ digilog-db down-sql 20240101000000_init
  $ digilog-db down-sql 20240101000000_init --print`,
    )
    .action(outcomeOf(run, async (migration: string, flags: DownSqlFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags, { shadow: true });
      const { downSql } = await import('../develop/down-sql.js');
      const { requireDatabaseUrl } = await import('../config/config.js');
      const result = await downSql({
        signal: run.stopSignal(),
        databaseUrl: requireDatabaseUrl(config),
        shadowDatabaseUrl: config.shadowDatabaseUrl,
        migrationsDir: paths.migrationsDir,
        schemaPath: paths.schemaPath,
        migration,
        print: flags.print === true,
      });
      for (const note of result.notes) terminal.err(`${terminal.color.yellow('Not undone:')} ${note}`);
      return {
        exitCode: EXIT_CODES.ok,
        json: downSqlJson(result),
        render: () => {
          if (result.path === null) terminal.out(result.sql.trimEnd() || '-- Nothing to undo: the migration does not change the schema.');
          else terminal.out(`Wrote ${result.path}${result.sql ? '' : ' (nothing to undo: the migration does not change the schema)'}.`);
        },
      };
    }));
}
