/** `digilog-db push`: the schema to the database without a migration (like `prisma db push`). */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface PushFlags extends CommonFlags {
  acceptDataLoss?: boolean;
  force?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('push'))
    .description('make the database match the schema without writing a migration (prototyping only)')
    .option('--accept-data-loss', 'apply even when a change drops data')
    .option('--force', 'allow with NODE_ENV=production (not recommended)')
    .addHelpText('after', '\nExit code 4 when the push would lose data and --accept-data-loss was not given.\n\nExamples:\n  $ digilog-db push\n  $ pnpm db:push')
    .action(outcomeOf(run, async (flags: PushFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags);
      if (!paths.schemaPath) throw new DigilogError('usage', 'push needs a schema', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { push } = await import('../develop/push.js');
      const { requireDatabaseUrl } = await import('../config/config.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const result = await push({
        signal: run.stopSignal(),
        databaseUrl: requireDatabaseUrl(config),
        shadowDatabaseUrl: config.shadowDatabaseUrl,
        schemaPath: paths.schemaPath,
        // Not while a migration runs: its half-applied state is not the database's.
        migrationLock: { waitMs: config.lockWaitMs, onWait: (holder) => terminal.err(`Waiting for the migration lock held by ${describeLockHolder(holder)}`) },
        acceptDataLoss: flags.acceptDataLoss === true,
        production: config.isProduction,
        force: flags.force === true,
      });
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...result },
        render: () => {
          terminal.out(result.executedSteps === 0 ? 'The database is already in sync with the schema.' : `Database now in sync with the schema (${result.executedSteps} step(s)).`);
        },
      };
    }));
}
