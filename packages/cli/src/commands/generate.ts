/** `digilog-db generate`: Prisma Client from prisma/schema.prisma, with no engine download. */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { resolveProjectPaths } from '../read/project.js';
import { commandTerminal, outcomeOf, type CommonFlags } from './common.js';

export function register(program: Command, run: Run): void {
  program
    .command('generate')
    .description('generate Prisma Client from the schema (no engine download needed)')
    .option('--schema <path>', 'path to schema.prisma (default: prisma/schema.prisma, searched upwards)')
    .option('--json', 'print one JSON document on stdout')
    .option('--force', 'regenerate even if the schema did not change')
    .addHelpText('after', '\nExamples:\n  $ digilog-db generate\n  $ pnpm db:generate')
    .action(outcomeOf(run, async (flags: CommonFlags & { force?: boolean }) => {
      const terminal = commandTerminal(run, flags);
      const { schemaPath } = resolveProjectPaths({ schema: flags.schema });
      const { isGenerateUpToDate, markGenerated } = await import('../develop/generate-cache.js');
      const started = performance.now();
      if (!flags.force && isGenerateUpToDate(schemaPath!)) {
        return {
          exitCode: EXIT_CODES.ok,
          json: { ok: true, schema: schemaPath, skipped: true, durationMs: Math.round(performance.now() - started) },
          render: () => {
            terminal.out('Prisma Client is up to date (schema unchanged); use --force to regenerate.');
          },
        };
      }
      const { runPrismaCli } = await import('../develop/prisma-cli.js');
      const generated = await runPrismaCli(['generate', '--schema', schemaPath!], { cwd: dirname(dirname(schemaPath!)) });
      if (generated.code !== 0) {
        throw new DigilogError('internal', `prisma generate failed:\n${generated.output.trim()}`, { hint: 'Check the schema for errors.' });
      }
      markGenerated(schemaPath!);
      const durationMs = Math.round(performance.now() - started);
      return {
        exitCode: EXIT_CODES.ok,
        json: { ok: true, schema: schemaPath, skipped: false, durationMs },
        render: () => {
          terminal.out(generated.output.split('\n').find((line) => line.includes('Generated')) ?? 'Prisma Client generated.');
        },
      };
    }));
}
