/**
 * `digilog-db seed`: runs prisma/seed.ts (idempotent upserts of DigiLog's
 * default settings) with tsx, as `prisma db seed` runs the configured seed.
 */
import type { Command } from 'commander';
import { EXIT_CODES } from '../errors.js';
import { commandContext, setExitCode, withCommonOptions, type CommonFlags } from './common.js';

export function register(program: Command): void {
  withCommonOptions(program.command('seed'))
    .description('run prisma/seed.ts (idempotent: running it twice changes nothing)')
    .addHelpText('after', '\nExamples:\n  $ digilog-db seed\n  $ pnpm db:seed')
    .action(async (flags: CommonFlags) => {
      const { config, paths, terminal } = await commandContext(flags);
      const { runSeed } = await import('../develop/seed.js');
      const { requireTarget } = await import('../config/runner-options.js');
      const result = await runSeed(paths, requireTarget(config), { retries: config.connectRetries, connectTimeoutMs: config.connectTimeoutMs });
      if (terminal.json) terminal.printJson({ ok: true, ...result });
      else terminal.out(result.output.trim() || `Seeded from ${result.seedFile}.`);
      setExitCode(EXIT_CODES.ok);
    });
}
