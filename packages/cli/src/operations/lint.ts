/** `lint`: classify migration files (any path, or every migration of the folder). */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { classify, worstLevel, type Finding } from '../core/classify.js';
import { parseStatements } from '../core/execution-mode.js';
import type { Level } from '../core/rules.js';
import { readMigrations } from '../project.js';

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
  /** Dangerous findings the files do not acknowledge with `-- digilog:allow <rule>`. */
  blocking: number;
}

function expand(path: string): string[] {
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'migration.sql'))) return [join(path, 'migration.sql')];
    return readMigrations(path).map((m) => m.path);
  }
  return [path];
}

/** Lints the given files/folders, or the migrations folder when none are given. */
export async function lint(paths: string[], migrationsDir: string): Promise<LintResult> {
  const files = (paths.length > 0 ? paths.flatMap(expand) : readMigrations(migrationsDir).map((m) => m.path)).map(async (path): Promise<LintedFile> => {
    const sql = readFileSync(path, 'utf8');
    const name = basename(path) === 'migration.sql' ? basename(dirname(path)) : basename(path);
    try {
      const findings = classify(await parseStatements(sql), sql);
      return { path, name, worst: worstLevel(findings), findings };
    } catch (error) {
      return { path, name, worst: 'care', findings: [], parseError: String((error as Error).message) };
    }
  });
  const linted = await Promise.all(files);
  const all = linted.flatMap((f) => f.findings);
  const counts = { safe: 0, care: 0, dangerous: 0 } as Record<Level, number>;
  for (const f of all) counts[f.level] += 1;
  return { files: linted, counts, blocking: all.filter((f) => f.level === 'dangerous' && !f.acknowledged).length };
}
