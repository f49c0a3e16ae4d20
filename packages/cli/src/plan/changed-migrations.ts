/**
 * `lint --changed <git-ref>`: the migrations added since a git ref, as a pull-request check
 * wants them (`git diff --name-only --diff-filter=A <ref>`, renames counted as additions:
 * a renamed folder is a new migration to Prisma). Only files git knows are seen.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DigilogError } from '../errors.js';
import { lint, type LintResult } from './lint.js';

const run = promisify(execFile);

/** The migration.sql files under `migrationsDir` that git sees as added since `ref`, in name order. Throws `usage` for an unknown ref or no repository. */
export async function addedMigrations(ref: string, migrationsDir: string): Promise<string[]> {
  if (ref.startsWith('-')) throw new DigilogError('usage', `--changed ${ref}: not a git ref`, { hint: 'Pass a branch, tag or commit, e.g. --changed origin/main.' });
  if (!existsSync(migrationsDir)) throw new DigilogError('usage', `Migrations folder not found: ${migrationsDir}`, { hint: 'Pass --migrations-dir.' });
  let stdout: string;
  try {
    // --relative: paths relative to the migrations folder, and only those inside it; `--end-of-options` keeps a ref from being read as a flag.
    ({ stdout } = await run('git', ['diff', '--name-only', '--diff-filter=A', '--no-renames', '--relative', '-z', '--end-of-options', ref, '--', '.'], { cwd: migrationsDir, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    const { code, stderr } = error as { code?: string | number; stderr?: string };
    if (code === 'ENOENT') throw new DigilogError('usage', '--changed needs git, which is not on PATH', { hint: 'Install git, or lint without --changed.' });
    const reason = String(stderr ?? '').trim().split('\n')[0] ?? '';
    throw new DigilogError('usage', `--changed ${ref}: git cannot compare with it (${reason || 'git diff failed'})`, {
      hint: /not a git repository/i.test(reason) ? 'Run it in a git checkout.' : 'Pass a ref git knows, e.g. origin/main (in CI, fetch it first: actions/checkout with fetch-depth: 0).',
      details: { ref },
    });
  }
  return stdout
    .split('\0')
    .filter((path) => /^[^/]+\/migration\.sql$/.test(path))
    .sort()
    .map((path) => join(migrationsDir, path));
}

/** Lints the migrations added since `ref`; none added is an empty, successful result. */
export async function lintChanged(ref: string, migrationsDir: string): Promise<LintResult> {
  const paths = await addedMigrations(ref, migrationsDir);
  if (paths.length === 0) return { files: [], counts: { safe: 0, care: 0, dangerous: 0 }, blocking: 0 };
  return lint(paths, undefined);
}
