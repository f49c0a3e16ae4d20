/**
 * `digilog-db generate`: Prisma Client from prisma/schema.prisma, with no download.
 * The Prisma CLI insists on locating a native schema engine at start, although
 * `generate` never runs it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
 * file (here: the node binary) skips the download. The variable is set for this
 * child process only.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { resolveProjectPaths } from '../project.js';
import { createTerminal } from '../output/terminal.js';
import { setExitCode, type CommonFlags } from './common.js';

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate Prisma Client from the schema (no engine download needed)')
    .option('--schema <path>', 'path to schema.prisma (default: prisma/schema.prisma, searched upwards)')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', '\nExamples:\n  $ digilog-db generate\n  $ pnpm db:generate')
    .action(async (flags: CommonFlags) => {
      const terminal = createTerminal({ json: flags.json === true });
      const { schemaPath } = resolveProjectPaths({ schema: flags.schema });
      const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
      const started = performance.now();
      const args = [prismaCli, 'generate', '--schema', schemaPath!];
      const output = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
        const child = spawn(process.execPath, args, {
          cwd: dirname(dirname(schemaPath!)),
          env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (chunk) => (text += chunk));
        child.stderr.on('data', (chunk) => (text += chunk));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, text }));
      });
      if (output.code !== 0) {
        throw new DigilogError('internal', `prisma generate failed:\n${output.text.trim()}`, { hint: 'Check the schema for errors.' });
      }
      const durationMs = Math.round(performance.now() - started);
      if (terminal.json) terminal.printJson({ ok: true, schema: schemaPath, durationMs });
      else terminal.out(output.text.split('\n').find((line) => line.includes('Generated')) ?? 'Prisma Client generated.');
      setExitCode(EXIT_CODES.ok);
    });
}
