/** `digilog-db resolve`: recover from a failed migration (Prisma semantics). */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface ResolveFlags extends CommonFlags {
  applied?: string;
  rolledBack?: string;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('resolve'))
    .description('mark a failed migration as applied or rolled back (like `prisma migrate resolve`)')
    .option('--applied <name>', 'record the migration as applied (you completed it by hand, or are baselining)')
    .option('--rolled-back <name>', 'record the failed migration as rolled back (you undid it; migrate will retry it)')
    .addHelpText(
      'after',
      `
Examples:
  $ digilog-db resolve --rolled-back "20240115103000_add_index"   # then fix the file and run migrate
  $ digilog-db resolve --applied "20240101000000_init"            # baseline an existing database`,
    )
    .action(outcomeOf(run, async (flags: ResolveFlags) => {
      // A usage error is reported before the context starts anything (the embedded database, say).
      if ((flags.applied === undefined) === (flags.rolledBack === undefined)) {
        throw new DigilogError('usage', 'resolve needs exactly one of --applied <name> or --rolled-back <name>', {
          hint: 'Run `digilog-db status` to see which migration failed.',
        });
      }
      const { config, paths, terminal } = await commandContext(run, flags);
      const { resolveMigration } = await import('../deploy/resolve.js');
      const { runnerOptions } = await import('../config/runner-options.js');
      const action = flags.applied !== undefined ? 'applied' : 'rolled-back';
      const result = await resolveMigration(runnerOptions(config, paths), action, (flags.applied ?? flags.rolledBack)!);
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...result },
        render: () => {
          if (action === 'applied') terminal.out(`Migration ${result.migration} marked as applied.`);
          else terminal.out(`Migration ${result.migration} marked as rolled back. Fix it if needed, then run \`digilog-db migrate\`.`);
        },
      };
    }));
}
