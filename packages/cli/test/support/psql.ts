/** The psql baseline: every migration in one psql session, one transaction per file (the floor we compare to). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Lists migration folders in Prisma's (byte) order. */
export function migrationFolders(migrationsDir: string): string[] {
  return readdirSync(migrationsDir)
    .filter((name) => statSync(join(migrationsDir, name)).isDirectory())
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Statements PostgreSQL refuses inside a transaction block (the ones in this repository's histories). */
const NON_TRANSACTIONAL = /\b(CONCURRENTLY|VACUUM)\b/i;

/**
 * Applies a migrations folder with psql; throws if any statement fails. A file with a statement that
 * cannot run in a transaction is run as psql runs it, statement by statement, not wrapped.
 */
export function applyWithPsql(databaseUrl: string, migrationsDir: string): void {
  const script = ['\\set ON_ERROR_STOP on', '\\set QUIET on']
    .concat(
      migrationFolders(migrationsDir).flatMap((name) => {
        const file = join(migrationsDir, name, 'migration.sql');
        const include = `\\i '${file}'`;
        return NON_TRANSACTIONAL.test(readFileSync(file, 'utf8')) ? [include] : ['BEGIN;', include, 'COMMIT;'];
      }),
    )
    .join('\n');
  const file = join(mkdtempSync(join(tmpdir(), 'digilog-psql-')), 'apply.sql');
  writeFileSync(file, script);
  execFileSync('psql', ['-X', '-q', '-d', databaseUrl, '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The schema as pg_dump prints it, without the migrations table and without volatile header lines. */
export function schemaDump(databaseUrl: string): string {
  const out = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '-T', '_prisma_migrations', '-d', databaseUrl], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((line) => !line.startsWith('-- Dumped') && !line.startsWith('\\restrict') && !line.startsWith('\\unrestrict'))
    .join('\n');
}
