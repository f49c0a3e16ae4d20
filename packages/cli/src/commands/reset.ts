/** `digilog-db reset`: drop the schema and re-apply every migration (development only). */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { confirmOrStop } from '../output/prompt.js';
import { EXIT_CODES } from '../errors.js';
import { resetJson } from '../output/json.js';
import type { MigrateEvent } from '../deploy/migrate.js';
import { formatMs } from '../output/terminal.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface ResetFlags extends CommonFlags {
  force?: boolean;
  yes?: boolean;
  seed?: boolean;
  to?: string;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('reset'))
    .description('drop everything in the schema and re-apply all migrations (refused in production unless --force)')
    .option('--force', 'allow reset when NODE_ENV=production')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--no-seed', 'do not run prisma/seed.ts afterwards')
    .option('--to <migration>', 're-apply the migrations only up to and including this one (a previous state)')
    .addHelpText(
      'after',
      `
Examples:
  $ digilog-db reset            # asks before deleting data
  $ digilog-db reset --yes      # in scripts (never in production without --force)
  $ digilog-db reset --yes --to 20240101000000_init   # back to a previous state`,
    )
    .action(outcomeOf(run, async (flags: ResetFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags);
      const { reset, assertResetAllowed } = await import('../develop/reset.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      const { describeLockHolder } = await import('../db/lock.js');
      const options = {
        ...runnerOptions(config, paths),
        force: flags.force === true,
        ...(flags.to === undefined ? {} : { to: flags.to }),
        // It waits for a running migration before it drops anything; say so rather than hang silently.
        onEvent: (event: MigrateEvent) => {
          if (event.type === 'lock-wait') terminal.err(`Waiting for the migration lock held by ${describeLockHolder(event.holder)}`);
        },
      };
      // The guard runs before any prompt or connection: nothing is touched when refused.
      assertResetAllowed(options);
      const { target } = options;
      if (!flags.yes) await confirmOrStop(terminal, `Reset deletes ALL data in schema "${target.schema}" of ${target.label}. Continue?`, 'reset');
      const result = await reset(options);
      // Like `prisma migrate reset`, seed afterwards when the project has a seed script.
      const { findSeedFile, runSeed } = await import('../develop/seed.js');
      const seed = flags.seed !== false && findSeedFile(paths) ? await runSeed(paths, options.target) : null;
      return {
        exitCode: EXIT_CODES.ok,
        json: resetJson(result, seed !== null),
        render: () => {
          terminal.out(`Database reset: schema "${result.droppedSchema}" recreated, ${result.applied.length} migration(s) applied in ${formatMs(result.durationMs)}.`);
          if (seed) terminal.out(seed.output.trim());
        },
      };
    }));
}
