/** `digilog-db pull`: introspect the live database into prisma/schema.prisma (like `prisma db pull`). */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { writeFileSync } from 'node:fs';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

interface PullFlags extends CommonFlags {
  print?: boolean;
}

export function register(program: Command, run: Run): void {
  withCommonOptions(program.command('pull'))
    .description('introspect the database and write its models into the schema (also a quick connection test)')
    .option('--print', 'print the introspected schema instead of writing the file')
    .addHelpText('after', '\nExamples:\n  $ digilog-db pull --print            # what the database holds, as Prisma models\n  $ digilog-db pull                    # rewrite prisma/schema.prisma from the database')
    .action(outcomeOf(run, async (flags: PullFlags) => {
      const { config, paths, terminal } = await commandContext(run, flags);
      if (!paths.schemaPath) throw new DigilogError('usage', 'pull needs a schema file to keep its datasource and generator', { hint: 'Pass --schema <path/to/schema.prisma>.' });
      const { pull } = await import('../engine/introspect.js');
      const { requireDatabaseUrl } = await import('../config/config.js');
      const result = await pull({ signal: run.stopSignal(), databaseUrl: requireDatabaseUrl(config), shadowDatabaseUrl: undefined, schemaPath: paths.schemaPath });
      const written = !flags.print && result.changed;
      if (written) writeFileSync(paths.schemaPath, result.schema);
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, ...result, written, schemaPath: paths.schemaPath },
        render: () => {
          if (flags.print) terminal.out(result.schema.trimEnd());
          else {
            for (const warning of result.warnings) terminal.err(terminal.color.yellow(`Warning: ${warning}`));
            terminal.out(`Introspected ${result.models.length} model(s): ${result.models.join(', ')}`);
            terminal.out(written ? `Wrote ${paths.schemaPath}.` : `${paths.schemaPath} already matches the database.`);
          }
        },
      };
    }));
}
