/** `digilog-db studio`: Prisma Studio on the configured (or embedded) database, without an engine download. */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';
import { portFlag } from './option-values.js';

interface StudioFlags extends CommonFlags {
  port?: number;
  browser?: string;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('studio'))
    .description('browse and edit the data with Prisma Studio (runs until Ctrl-C, which exits 0)')
    .option('-p, --port <port>', 'port for Studio', portFlag('--port'), 5555)
    .option('-b, --browser <browser>', 'browser to open, or "none"', 'none')
    .addHelpText('after', '\nExamples:\n  $ digilog-db studio            # then open http://localhost:5555\n  $ pnpm db:studio')
    .action(outcomeOf(run, async (flags: StudioFlags) => {
      const { config, paths } = await commandContext(run, flags);
      if (!paths.schemaPath) throw new DigilogError('usage', 'studio needs a schema', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { runPrismaCli } = await import('../develop/prisma-cli.js');
      // prisma.config.ts (next to prisma/) reads DATABASE_URL: hand Studio the database this command resolved,
      // embedded included. Not --url: a password on the command line shows in the process list.
      const studio = await runPrismaCli(['studio', '--port', String(flags.port ?? 5555), '--browser', flags.browser ?? 'none'], {
        cwd: dirname(dirname(paths.schemaPath)),
        env: { DATABASE_URL: config.databaseUrl },
        inherit: true,
        signal: run.stopSignal(),
      });
      // Ctrl-C (or SIGTERM) is how Studio is meant to stop: the user ended it, so exit 0, whatever
      // code Studio gives itself for the signal (130).
      if (studio.stoppedBy) return { exitCode: EXIT_CODES.ok };
      if (studio.code !== 0 && studio.code !== null) throw new DigilogError('internal', `Prisma Studio exited with code ${studio.code}`);
      return { exitCode: EXIT_CODES.ok };
    }));
}
