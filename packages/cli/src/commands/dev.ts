/** `digilog-db dev --name <name>`: create a migration from the schema and apply it (like `prisma migrate dev`). */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { askYesNo } from '../output/prompt.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { devJson } from '../output/json.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface DevFlags extends CommonFlags {
  name?: string;
  createOnly?: boolean;
  yes?: boolean;
  force?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('dev'))
    .description('create a migration from schema changes (through a shadow database), show it, and apply it')
    .requiredOption('-n, --name <name>', 'migration name, e.g. add_owner')
    .option('--create-only', 'write the migration file but do not apply it')
    .option('-y, --yes', 'apply even if the migration loses data, without asking')
    .option('--force', 'allow with NODE_ENV=production (not recommended)')
    .addHelpText(
      'after',
      `
The shadow database is a temporary database (dropped afterwards, also on Ctrl-C),
or SHADOW_DATABASE_URL when set.

Examples:
  $ digilog-db dev --name add_owner
  $ digilog-db dev --name rename_column --create-only   # edit the SQL, then: digilog-db migrate`,
    )
    .action(outcomeOf(run, async (flags: DevFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags, { shadow: true });
      if (!paths.schemaPath) throw new DigilogError('usage', 'dev needs a schema', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { dev } = await import('../develop/dev.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const spinner = await terminal.spinner('Comparing the schema with the migration history');
      const result = await dev({
        signal: run.stopSignal(),
        ...runnerOptions(config, paths),
        schemaPath: paths.schemaPath,
        shadowDatabaseUrl: config.shadowDatabaseUrl,
        name: flags.name!,
        createOnly: flags.createOnly === true,
        force: flags.force === true,
        onEvent(event) {
          if (event.type === 'lock-wait') terminal.err(`Waiting for the migration lock held by ${describeLockHolder(event.holder)}`);
        },
        async confirmDataLoss(warnings) {
          spinner.stop();
          for (const warning of warnings) terminal.err(`${terminal.color.yellow('⚠ data loss:')} ${warning}`);
          if (flags.yes) return true;
          const answer = await askYesNo(terminal, 'Apply this migration?');
          if (answer === undefined) terminal.err('The migration was written but not applied. Re-run with --yes to apply it, or edit it and run `digilog-db migrate`.');
          return answer === true;
        },
      });
      spinner.stop();
      return {
        exitCode: EXIT_CODES.ok,
        json: devJson(result),
        render: () => {
          if (result.action === 'in-sync') return terminal.out('Already in sync: the schema matches the migration history; no migration created.');
          if (result.downPath) terminal.out(`Created ${result.migration}/migration.sql (and down.sql, the SQL that undoes it: review and commit both):\n`);
          else terminal.out(`Created ${result.migration}/migration.sql (no down.sql: ${result.downProblem ?? 'the engine could not compute it'}; \`digilog-db down-sql ${result.migration}\` retries):\n`);
          terminal.out(terminal.color.dim(result.sql!.trimEnd()));
          terminal.out();
          terminal.out(result.action === 'created-and-applied' ? terminal.color.green('Applied. Database is up to date!') : 'Not applied yet: run `digilog-db migrate` when ready.');
        },
      };
    }));
}
