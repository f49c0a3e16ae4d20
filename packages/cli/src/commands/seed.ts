/**
 * `digilog-db seed`: runs prisma/seed.ts (idempotent upserts of DigiLog's
 * default settings) with tsx, as `prisma db seed` runs the configured seed.
 */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('seed'))
    .description('run prisma/seed.ts (idempotent: running it twice changes nothing)')
    .addHelpText('after', '\nExamples:\n  $ digilog-db seed\n  $ pnpm db:seed')
    .action(outcomeOf(run, async (flags: CommonFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags);
      const { runSeed } = await import('../develop/seed.js');
      const { requireTarget } = await import('../config/runner-options.js');
      const result = await runSeed(paths, requireTarget(config), { retries: config.connectRetries, connectTimeoutMs: config.connectTimeoutMs });
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...result },
        render: () => {
          terminal.out(result.output.trim() || `Seeded from ${result.seedFile}.`);
        },
      };
    }));
}
