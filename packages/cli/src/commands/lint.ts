/** `digilog-db lint [paths…]`: Safe / Requires care / Dangerous for each statement, for CI. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { printFindings } from '../output/findings.js';
import { resolveFormat, withFormatOption } from '../output/format.js';
import { resolveProjectPaths } from '../read/project.js';
import { commandTerminal, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';

export function register(program: Command, run: Run): void {
  withFormatOption(withCommonOptions(program.command('lint')))
    .description('classify migration SQL with PostgreSQL\'s parser: Safe, Requires care, Dangerous (no database needed)')
    .argument('[paths...]', 'migration files or folders (default: every migration of the migrations folder)')
    .option('--changed <git-ref>', 'lint only the migrations added since this git ref (git diff --diff-filter=A), e.g. origin/main')
    .addHelpText(
      'after',
      `
Exit code 4 when a Dangerous statement is not acknowledged: by a line
"<migration> <rule>" in digilog.acknowledgements at the migrations folder's root
(for migrations already applied somewhere: editing them changes their checksum),
or by "-- digilog:allow <rule>" in a new file (e.g. "-- digilog:allow drop-table").
Exit code 2 for a file migrate would refuse before running it (a bad directive, a
BEGIN without COMMIT, CONCURRENTLY mixed with other statements) or a missing path.

Examples:
  $ digilog-db lint
  $ digilog-db lint prisma/migrations/20240115103000_drop_legacy --json
  $ digilog-db lint --changed origin/main --format github   # a PR's new migrations, annotated
  $ digilog-db lint --format sarif > digilog.sarif`,
    )
    .action(outcomeOf(run, async (paths: string[], flags: CommonFlags & { changed?: string }) => {
      resolveFormat(flags);
      const terminal = commandTerminal(run, flags);
      const { lint } = await import('../plan/lint.js');
      // Explicit files need no project; the migrations folder is only looked up when none are given.
      const migrationsDir = paths.length > 0 && !flags.migrationsDir ? undefined : resolveProjectPaths({ schema: flags.schema, migrationsDir: flags.migrationsDir }).migrationsDir;
      if (flags.changed !== undefined && paths.length > 0) throw new DigilogError('usage', '--changed lints the migrations folder: pass no paths with it', { hint: 'Drop the paths, or --changed.' });
      const result = flags.changed !== undefined ? await (await import('../plan/changed-migrations.js')).lintChanged(flags.changed, migrationsDir!) : await lint(paths, migrationsDir);
      return {
        exitCode: result.blocking > 0 ? EXIT_CODES['dangerous-blocked'] : EXIT_CODES.ok,
        json: { ok: result.blocking === 0, ...result },
        report: { command: 'lint', result },
        render: () => {
          for (const file of result.files) printFindings(terminal, file);
          terminal.out(`\n${result.files.length} file(s): ${result.counts.dangerous} dangerous, ${result.counts.care} requiring care, ${result.counts.safe} safe statement(s).`);
        },
      };
    }));
}
