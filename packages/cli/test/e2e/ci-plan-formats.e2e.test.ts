/**
 * The CI formats of `migrate --dry-run` and `status` on real PostgreSQL: golden outputs for
 * a fixture history (the database's generated name is the only part that varies, replaced
 * before comparing), SARIF validated against the 2.1.0 schema, JUnit counts per state.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { expectGolden, validateSarif } from '../support/golden.js';
import { HISTORIES_DIR, addMigration, writeMigrations } from '../support/migrations.js';

const database = testDatabases();
const HISTORY = join(HISTORIES_DIR, 'enum-evolution');
const FORMATS = ['github', 'sarif', 'markdown', 'junit'] as const;
const EXTENSION = { github: 'txt', sarif: 'sarif', markdown: 'md', junit: 'xml' } as const;

async function run(db: TestDatabase, args: string[], format: string, code: number): Promise<string> {
  const result = await runCli([...args, '--migrations-dir', HISTORY, '--format', format], { DATABASE_URL: db.url });
  expect(result.code, result.stderr).toBe(code);
  return result.stdout.replaceAll(db.name, '<database>');
}

describe('migrate --dry-run', () => {
  it.each(FORMATS)('--format %s: the plan of a whole history on an empty database (golden)', async (format) => {
    const db = await database();
    const out = await run(db, ['migrate', '--dry-run'], format, EXIT_CODES.pending);
    if (format === 'sarif') expect(validateSarif(JSON.parse(out))).toEqual([]);
    expectGolden(`dry-run/enum-evolution.${EXTENSION[format]}`, out);
  });

  it('in production, a Dangerous change not acknowledged is an error annotation and a JUnit failure (exit 4)', async () => {
    const db = await database();
    const dir = writeMigrations({ '20240101000000_legacy': 'CREATE TABLE "Legacy" (id int);\nINSERT INTO "Legacy" SELECT generate_series(1, 3);\n' });
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(EXIT_CODES.ok);
    addMigration(dir, '20240102000000_drop_legacy', '-- Legacy is replaced by Kept\nDROP TABLE "Legacy";\n');
    addMigration(dir, '20240103000000_keep', 'CREATE TABLE "Kept" (id int);\n');
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production' };
    const github = await runCli(['migrate', '--dry-run', '--migrations-dir', dir, '--format', 'github'], env);
    expect(github.code).toBe(EXIT_CODES['dangerous-blocked']);
    const errors = github.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^::error file=.*20240102000000_drop_legacy\/migration\.sql,line=2,endLine=2,col=1,endColumn=20,title=Dangerous \[drop-table\]/);
    expect(errors[1]).toMatch(/^::error title=digilog-db migrate --dry-run::2 file\(s\).*Blocked: 1 Dangerous/);
    const junit = await runCli(['migrate', '--dry-run', '--migrations-dir', dir, '--format', 'junit'], env);
    expect(junit.stdout).toContain('tests="2" failures="1"');
    expect(junit.stdout).toMatch(/name="20240102000000_drop_legacy"[^>]*>\s*<failure type="dangerous"/);
    // Outside production the guard is off: the same plan is pending (exit 3), not blocked, and no test case fails.
    const relaxed = await runCli(['migrate', '--dry-run', '--migrations-dir', dir, '--format', 'junit'], { DATABASE_URL: db.url });
    expect(relaxed.code).toBe(EXIT_CODES.pending);
    expect(relaxed.stdout).toContain('tests="2" failures="0"');
  });
});

describe('status', () => {
  it.each(FORMATS)('--format %s: applied, edited, failed, pending and missing migrations (golden)', async (format) => {
    const db = await database();
    expect((await runCli(['migrate', '--migrations-dir', HISTORY], { DATABASE_URL: db.url })).code).toBe(EXIT_CODES.ok);
    await db.query(`
      UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = '20240203100000_more_statuses';
      UPDATE _prisma_migrations SET finished_at = NULL, started_at = '2024-02-06 10:00:00+00', logs = 'ERROR: boom'
        WHERE migration_name = '20240206100000_status_enum_array';
      DELETE FROM _prisma_migrations WHERE migration_name = '20240207100000_replace_plan_enum';
      INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
        VALUES ('gone', repeat('1', 64), '20240101000000_gone', now(), now(), 1);`);
    const out = await run(db, ['status'], format, EXIT_CODES['failed-migration']);
    if (format === 'sarif') expect(validateSarif(JSON.parse(out))).toEqual([]);
    expectGolden(`status/enum-evolution.${EXTENSION[format]}`, out);
  });

  it('an up-to-date database: a notice, a JUnit suite with no failure', async () => {
    const db = await database();
    await runCli(['migrate', '--migrations-dir', HISTORY], { DATABASE_URL: db.url });
    expect(await run(db, ['status'], 'github', EXIT_CODES.ok)).toMatch(/^::notice title=digilog-db status::Database is up to date!/m);
    expect(await run(db, ['status'], 'junit', EXIT_CODES.ok)).toContain('tests="7" failures="0" errors="0" skipped="0"');
  });

  it('--prometheus with --format is a usage error', async () => {
    const result = await runCli(['status', '--prometheus', '--format', 'sarif']);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('--prometheus and --format sarif cannot be combined');
  });
});
