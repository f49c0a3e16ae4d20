/** `digilog-db generate`: Prisma Client from prisma/schema.prisma, with no engine download. */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { resolveProjectPaths } from '../read/project.js';
import { createTerminal } from '../output/terminal.js';
import { setExitCode, type CommonFlags } from './common.js';

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate Prisma Client from the schema (no engine download needed)')
    .option('--schema <path>', 'path to schema.prisma (default: prisma/schema.prisma, searched upwards)')
    .option('--json', 'print one JSON document on stdout')
    .option('--force', 'regenerate even if the schema did not change')
    .addHelpText('after', '\nExamples:\n  $ digilog-db generate\n  $ pnpm db:generate')
    .action(async (flags: CommonFlags & { force?: boolean }) => {
      const terminal = createTerminal({ json: flags.json === true });
      const { schemaPath } = resolveProjectPaths({ schema: flags.schema });
      const { isGenerateUpToDate, markGenerated } = await import('../develop/generate-cache.js');
      const started = performance.now();
      if (!flags.force && isGenerateUpToDate(schemaPath!)) {
        if (terminal.json) terminal.printJson({ ok: true, schema: schemaPath, skipped: true, durationMs: Math.round(performance.now() - started) });
        else terminal.out('Prisma Client is up to date (schema unchanged); use --force to regenerate.');
        setExitCode(EXIT_CODES.ok);
        return;
      }
      const { runPrismaCli } = await import('../develop/prisma-cli.js');
      const run = await runPrismaCli(['generate', '--schema', schemaPath!], { cwd: dirname(dirname(schemaPath!)) });
      if (run.code !== 0) {
        throw new DigilogError('internal', `prisma generate failed:\n${run.output.trim()}`, { hint: 'Check the schema for errors.' });
      }
      markGenerated(schemaPath!);
      const durationMs = Math.round(performance.now() - started);
      if (terminal.json) terminal.printJson({ ok: true, schema: schemaPath, skipped: false, durationMs });
      else terminal.out(run.output.split('\n').find((line) => line.includes('Generated')) ?? 'Prisma Client generated.');
      setExitCode(EXIT_CODES.ok);
    });
}
