/**
 * `lint`: classify migration files (any path, or every migration of the folder),
 * refusing what `migrate` refuses before running a file (bad directives, a
 * transaction left open, CONCURRENTLY mixed with other statements).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Acknowledgements } from './acknowledgements.js';
import { classify, worstLevel, type Finding } from './classify.js';
import { parseStatements, type ParsedStatement } from './execution-mode.js';
import type { Level } from './rules.js';
import { DigilogError } from '../errors.js';
import { readMigrations, toMigration, type Migration } from '../read/migrations-folder.js';
import { applyAcknowledgements, checkDirectives, checkRunnable, readAcknowledgements } from './plan.js';
import { scriptText } from '../read/checksum.js';

export interface LintedFile {
  path: string;
  /** The migration folder's name, or the file name. */
  name: string;
  worst: Level;
  findings: Finding[];
  /** Set when PostgreSQL's parser rejects the file. */
  parseError?: string;
}

export interface LintResult {
  files: LintedFile[];
  counts: Record<Level, number>;
  /** Dangerous findings acknowledged neither in the file nor in digilog.acknowledgements. */
  blocking: number;
}

function expand(path: string): Migration[] {
  if (!existsSync(path)) {
    throw new DigilogError('usage', `No such file or folder: ${path}`, { hint: 'Pass migration.sql files, migration folders or a migrations folder.', details: { path } });
  }
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'migration.sql'))) return [fileMigration(join(path, 'migration.sql'))];
    return readMigrations(path);
  }
  return [fileMigration(path)];
}

/** A file given on its own: named after its migration folder, or after itself when it is not a migration.sql. */
function fileMigration(path: string): Migration {
  const name = basename(path) === 'migration.sql' ? basename(dirname(path)) : basename(path);
  return toMigration(name, path, scriptText(readFileSync(path)));
}

/** Lints the given files/folders, or the migrations folder when none are given. Throws `usage` for a file migrate would refuse. */
export async function lint(paths: string[], migrationsDir: string | undefined): Promise<LintResult> {
  if (paths.length === 0 && migrationsDir === undefined) throw new DigilogError('usage', 'Nothing to lint: no paths and no migrations folder', { hint: 'Pass migration files or folders, or --migrations-dir.' });
  const migrations = paths.length > 0 ? paths.map((p) => resolve(p)).flatMap(expand) : readMigrations(migrationsDir!);
  // A migration folder's acknowledgements file sits beside it, at the migrations folder's root.
  const acknowledgementsOf = new Map<string, Acknowledgements>();
  const linted: LintedFile[] = [];
  for (const migration of migrations) {
    const { name, path, sql } = migration;
    const inFolder = basename(path) === 'migration.sql';
    checkDirectives(migration);
    let statements: ParsedStatement[];
    try {
      statements = await parseStatements(sql);
    } catch (error) {
      linted.push({ path, name, worst: 'care', findings: [], parseError: String((error as Error).message) });
      continue;
    }
    checkRunnable(migration, statements);
    const findings = classify(statements, migration.directives);
    if (inFolder) {
      const root = dirname(dirname(path));
      if (!acknowledgementsOf.has(root)) acknowledgementsOf.set(root, readAcknowledgements(root));
      applyAcknowledgements(name, findings, acknowledgementsOf.get(root));
    }
    linted.push({ path, name, worst: worstLevel(findings), findings });
  }
  const all = linted.flatMap((f) => f.findings);
  const counts = { safe: 0, care: 0, dangerous: 0 } as Record<Level, number>;
  for (const f of all) counts[f.level] += 1;
  return { files: linted, counts, blocking: all.filter((f) => f.level === 'dangerous' && !f.acknowledged).length };
}
