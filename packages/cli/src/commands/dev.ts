/** `digilog-db dev --name <name>`: create a migration from the schema and apply it (like `prisma migrate dev`). */
import type { Command } from 'commander';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, setExitCode, withCommonOptions, type CommonFlags } from './common.js';

interface DevFlags extends CommonFlags {
  name?: string;
  createOnly?: boolean;
  yes?: boolean;
  force?: boolean;
}

export function register(program: Command): void {
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
    .action(async (flags: DevFlags) => {
      const { config, paths, terminal } = await commandContext(flags, { shadow: true });
      if (!paths.schemaPath) throw new DigilogError('usage', 'dev needs a schema', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { dev } = await import('../operations/dev.js');
      const { runnerOptions } = await import('../operations/runner-options.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const spinner = await terminal.spinner('Comparing the schema with the migration history');
      const result = await dev({
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
          if (!process.stdin.isTTY || terminal.json) {
            terminal.err('The migration was written but not applied. Re-run with --yes to apply it, or edit it and run `digilog-db migrate`.');
            return false;
          }
          const { createInterface } = await import('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question('Apply this migration? [y/N] ').finally(() => rl.close());
          return /^y(es)?$/i.test(answer.trim());
        },
      });
      spinner.stop();
      if (terminal.json) terminal.printJson({ ok: true, ...result });
      else if (result.action === 'in-sync') terminal.out('Already in sync: the schema matches the migration history; no migration created.');
      else {
        terminal.out(`Created ${result.migration}/migration.sql (and down.sql, the SQL that undoes it: review and commit both):\n`);
        terminal.out(terminal.color.dim(result.sql!.trimEnd()));
        terminal.out();
        terminal.out(result.action === 'created-and-applied' ? terminal.color.green('Applied. Database is up to date!') : 'Not applied yet: run `digilog-db migrate` when ready.');
      }
      setExitCode(EXIT_CODES.ok);
    });
}
