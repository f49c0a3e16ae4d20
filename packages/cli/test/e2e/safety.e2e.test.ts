/**
 * The safety layer, end to end on real PostgreSQL through the built binary:
 * the production guard, the live-database context of the classifier,
 * lock_timeout / statement_timeout, --dry-run, --backup, budgets, and
 * non-transactional migrations (TEST-MATRIX rows 15, 16, 17, 24).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { findPgDump } from '../../src/deploy/backup.js';
import { runCli } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, HISTORIES_DIR, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const database = testDatabases();
const PG_DUMP = findPgDump()!;
const PG_RESTORE = PG_DUMP.replace(/pg_dump$/, 'pg_restore');

/** Full plain-text dump (schema and data): equal dumps mean nothing changed. */
function dump(db: TestDatabase, ...flags: string[]): string {
  const text = execFileSync(PG_DUMP, ['--no-owner', ...flags, `--dbname=${db.url}`], { encoding: 'utf8' });
  // pg_dump 15.14+ brackets its output with a random \restrict key; it says nothing about the database.
  return text.replace(/^\\(un)?restrict \S+$/gm, '');
}

async function rowsOf(db: TestDatabase): Promise<Array<{ migration_name: string; finished: boolean; logs: string | null }>> {
  return db.query(`SELECT migration_name, finished_at IS NOT NULL AS finished, logs FROM _prisma_migrations ORDER BY started_at, migration_name`);
}

/** A database whose first migration is applied, with `accounts` holding rows. */
async function withAccounts(rows = 3): Promise<{ db: TestDatabase; dir: string; env: Record<string, string> }> {
  const db = await database('digilog_safety');
  const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\nCREATE TABLE legacy (id int);\n' });
  const env = { DATABASE_URL: db.url };
  expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
  await db.query(`INSERT INTO accounts SELECT g, 'u' || g || '@digilog.io' FROM generate_series(1, ${rows}) g; INSERT INTO legacy VALUES (1)`);
  return { db, dir, env };
}

describe('production guard (matrix row 24)', () => {
  it('blocks a Dangerous migration before any statement runs; --allow-dangerous and the in-file acknowledgement each let it through', async () => {
    const { db, dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_add_note', 'ALTER TABLE accounts ADD COLUMN note text;\n');
    addMigration(dir, '20240103000000_drop_legacy', 'DROP TABLE legacy;\n');
    const before = dump(db);
    const production = { ...env, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' };

    const blocked = await runCli(['migrate', '--json', '--migrations-dir', dir], production);
    expect(blocked.code).toBe(EXIT_CODES['dangerous-blocked']);
    const error = JSON.parse(blocked.stdout).error;
    expect(error.message).toContain('20240103000000_drop_legacy #1 [drop-table] "legacy"');
    expect(error.hint).toContain('-- digilog:allow drop-table');
    // Not even the safe migration before it ran, and no row was written.
    expect(dump(db)).toBe(before);

    // Outside production the same plan is printed and applied.
    const dbDev = await withAccounts();
    addMigration(dbDev.dir, '20240103000000_drop_legacy', 'DROP TABLE legacy;\n');
    const dev = await runCli(['migrate', '--migrations-dir', dbDev.dir], dbDev.env);
    expect(dev.code).toBe(0);
    expect(dev.stderr).toMatch(/Dangerous\s+20240103000000_drop_legacy/);

    const allowed = await runCli(['migrate', '--allow-dangerous', '--json', '--migrations-dir', dir], production);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).applied.map((a: { name: string }) => a.name)).toEqual(['20240102000000_add_note', '20240103000000_drop_legacy']);

    const acknowledged = await withAccounts();
    addMigration(acknowledged.dir, '20240103000000_drop_legacy', '-- digilog:allow drop-table\n-- The legacy table was replaced by accounts in v2.\nDROP TABLE legacy;\n');
    const viaComment = await runCli(['migrate', '--migrations-dir', acknowledged.dir], { ...acknowledged.env, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' });
    expect(viaComment.code).toBe(0);
    expect(await acknowledged.db.query(`SELECT to_regclass('legacy') AS t`)).toEqual([{ t: null }]);
    recordReliability({ row: 24, scenario: 'Dangerous change in production', fault: 'DROP TABLE pending behind a safe migration, NODE_ENV=production', result: 'exit 4 before any statement (dump unchanged); --allow-dangerous and -- digilog:allow each apply it', badInputs: 1, lostOrDoubled: 0 });
  });
});

describe('classification against the live database', () => {
  it('a whole history deploys to a new production database: its Dangerous statements touch only tables the same deploy creates', async () => {
    const db = await database('digilog_fresh_prod');
    const dir = join(HISTORIES_DIR, 'renames-drops-and-backfills');
    const lint = JSON.parse((await runCli(['lint', '--json', dir], {})).stdout);
    expect(lint.counts.dangerous).toBeGreaterThan(0);
    const run = await runCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' });
    expect(run.code, run.stderr).toBe(0);
    const { plan, applied } = JSON.parse(run.stdout);
    expect(applied).toHaveLength(lint.files.length);
    const relaxed = plan.migrations.flatMap((m: { findings: Array<{ ruleLevel: string; level: string; context?: string }> }) => m.findings).filter((f: { ruleLevel: string }) => f.ruleLevel === 'dangerous');
    expect(relaxed.length).toBe(lint.counts.dangerous);
    for (const f of relaxed) expect(f.context).toMatch(/is created (earlier in this migration|by an earlier pending migration): still empty here/);
  });

  it('escalates on a big table, relaxes on a small, empty or just-created one, and names the rows; --dry-run changes nothing', async () => {
    const db = await database('digilog_context');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE big (id int, v text);\nCREATE TABLE small (id int, v text);\nCREATE TABLE empty (id int);\n' });
    const env = { DATABASE_URL: db.url, DIGILOG_LARGE_TABLE_ROWS: '1000' };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    await db.query(`INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 5000) g; INSERT INTO small VALUES (1, 'a'), (2, 'b'); ANALYZE big`);
    addMigration(dir, '20240102000000_indexes', 'CREATE INDEX big_v_idx ON big (v);\nCREATE INDEX small_v_idx ON small (v);\nTRUNCATE empty;\nCREATE TABLE fresh (id int);\n');
    addMigration(dir, '20240103000000_fresh_index', 'CREATE INDEX fresh_id_idx ON fresh (id);\n');
    const before = dump(db);

    const plan = await runCli(['migrate', '--dry-run', '--json', '--migrations-dir', dir], env);
    expect(plan.code).toBe(EXIT_CODES.pending);
    const doc = JSON.parse(plan.stdout);
    expect(doc.pending).toEqual(['20240102000000_indexes', '20240103000000_fresh_index']);
    expect(doc.plan.withContext).toBe(true);
    const [indexes, fresh] = doc.plan.migrations;
    expect(indexes.findings[0]).toMatchObject({ rule: 'create-index', ruleLevel: 'care', level: 'dangerous', table: 'big', estimatedRows: 5000 });
    expect(indexes.findings[0].context).toContain('~5k rows');
    expect(indexes.findings[1]).toMatchObject({ rule: 'create-index', ruleLevel: 'care', level: 'safe', table: 'small', estimatedRows: 2 });
    expect(indexes.findings[2]).toMatchObject({ rule: 'truncate', ruleLevel: 'dangerous', level: 'safe', table: 'empty' });
    expect(fresh.findings[0]).toMatchObject({ rule: 'create-index', ruleLevel: 'care', level: 'safe', table: 'fresh' });
    expect(fresh.findings[0].context).toContain('earlier pending migration');
    expect(doc.plan.migrations[0].sql).toContain('CREATE INDEX big_v_idx');

    // Production would refuse the big table's blocking index build.
    const productionPlan = await runCli(['migrate', '--dry-run', '--migrations-dir', dir], { ...env, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' });
    expect(productionPlan.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(productionPlan.stdout).toContain('database: "big" has ~5k rows');
    expect(productionPlan.stdout).toContain('Nothing was changed.');
    // Byte for byte: schema, data and the migrations table.
    expect(dump(db)).toBe(before);

    // Without a database (lint), the same statements keep their rule levels.
    const lint = JSON.parse((await runCli(['lint', '--json', join(dir, '20240102000000_indexes')], {})).stdout);
    expect(lint.files[0].findings.map((f: { level: string }) => f.level)).toEqual(['care', 'care', 'dangerous', 'safe']);
  });
  it('DROP INDEX is judged by its table (one the deploy creates, an empty one, or one with rows, named from the catalog); DROP TYPE by whether the deploy created it', async () => {
    const db = await database('digilog_drop_index');
    const dir = writeMigrations({
      '20240101000000_init': 'CREATE TABLE accounts (id int, email text);\nCREATE INDEX accounts_email_idx ON accounts (email);\nCREATE TABLE empty (id int);\nCREATE INDEX empty_id_idx ON empty (id);\n',
    });
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    await db.query(`INSERT INTO accounts VALUES (1, 'a@digilog.io')`);
    addMigration(dir, '20240102000000_drop_existing', 'DROP INDEX accounts_email_idx;\nDROP INDEX empty_id_idx;\nCREATE TABLE fresh (id int);\nCREATE INDEX fresh_idx ON fresh (id);\nALTER INDEX fresh_idx RENAME TO fresh_id_idx;\nCREATE TYPE "Mood" AS ENUM (\'ok\');\n');
    addMigration(dir, '20240103000000_drop_fresh', 'DROP INDEX fresh_id_idx;\nDROP TYPE "Mood";\n');

    const run = await runCli(['migrate', '--dry-run', '--json', '--migrations-dir', dir], env);
    expect(run.code).toBe(EXIT_CODES.pending);
    const [existing, fresh] = JSON.parse(run.stdout).plan.migrations;
    expect(existing.findings[0]).toMatchObject({ rule: 'drop-index', index: 'accounts_email_idx', table: 'accounts', level: 'care' });
    expect(existing.findings[1]).toMatchObject({ rule: 'drop-index', index: 'empty_id_idx', table: 'empty', level: 'safe', context: '"empty" is empty right now' });
    expect(fresh.findings[0]).toMatchObject({ rule: 'drop-index', index: 'fresh_id_idx', table: 'fresh', level: 'safe' });
    expect(fresh.findings[0].context).toContain('earlier pending migration');
    // The same for an enum type the deploy creates and drops.
    expect(fresh.findings[1]).toMatchObject({ rule: 'drop-type', type: 'Mood', ruleLevel: 'care', level: 'safe' });
  });
});

describe('timeouts (matrix rows 16, 17)', () => {
  it('lock_timeout: a migration waiting on a busy table fails fast, is recorded and recoverable; other sessions are not held longer than the timeout', async () => {
    const { db, dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_add_note', 'ALTER TABLE accounts ADD COLUMN note text;\n');
    const holder = new pg.Client({ connectionString: db.url });
    const app = new pg.Client({ connectionString: db.url });
    await Promise.all([holder.connect(), app.connect()]);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM accounts WHERE id = 1 FOR UPDATE');
      const run = runCli(['migrate', '--migrations-dir', dir], { ...env, DIGILOG_LOCK_TIMEOUT: '1s' });
      // While the ALTER waits for its ACCESS EXCLUSIVE lock, a plain read queues behind it, for at most lock_timeout.
      await new Promise((r) => setTimeout(r, 600));
      const readStarted = performance.now();
      await app.query('SELECT count(*) FROM accounts');
      const readBlockedMs = performance.now() - readStarted;
      const failed = await run;
      expect(failed.code).toBe(EXIT_CODES['migration-sql']);
      expect(failed.durationMs).toBeLessThan(8_000);
      expect(failed.stderr).toContain('lock_timeout (1s)');
      expect(failed.stderr).toContain('resolve --rolled-back "20240102000000_add_note"');
      expect(readBlockedMs).toBeLessThan(1_500);
      // The other session is unaffected: its transaction goes on and commits.
      await holder.query(`UPDATE accounts SET email = 'still@digilog.io' WHERE id = 1`);
      await holder.query('COMMIT');
      const rows = await rowsOf(db);
      expect(rows.at(-1)).toMatchObject({ migration_name: '20240102000000_add_note', finished: false });
      expect(rows.at(-1)!.logs).toContain('55P03');
      expect(await db.query(`SELECT email FROM accounts WHERE id = 1`)).toEqual([{ email: 'still@digilog.io' }]);

      expect((await runCli(['resolve', '--rolled-back', '20240102000000_add_note', '--migrations-dir', dir], env)).code).toBe(0);
      expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
      expect(await db.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`)).toEqual([{ n: 1 }]);
      recordReliability({ row: 16, scenario: 'lock_timeout on a busy table', fault: 'another session holds SELECT … FOR UPDATE while ALTER TABLE waits', result: `55P03 after the 1 s timeout, failed row recorded, resolved and re-applied; reads queued ${Math.round(readBlockedMs)} ms`, faults: 1, lostOrDoubled: 0 });
    } finally {
      await holder.end().catch(() => {});
      await app.end().catch(() => {});
    }
  });

  it('a migration can override the timeouts in a comment; statement_timeout cancels a long backfill and records it', async () => {
    const { db, dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_slow_backfill', '-- digilog:statement-timeout 500ms\nUPDATE accounts SET email = lower(email) WHERE pg_sleep(2) IS NOT NULL;\n');
    const cancelled = await runCli(['migrate', '--migrations-dir', dir], { ...env, DIGILOG_STATEMENT_TIMEOUT: '1h' });
    expect(cancelled.code).toBe(EXIT_CODES['migration-sql']);
    expect(cancelled.durationMs).toBeLessThan(6_000);
    expect(cancelled.stderr).toContain('statement_timeout (500ms)');
    const rows = await rowsOf(db);
    expect(rows.at(-1)).toMatchObject({ migration_name: '20240102000000_slow_backfill', finished: false });
    expect(rows.at(-1)!.logs).toContain('57014');
    expect(await db.query(`SELECT count(*)::int AS n FROM accounts WHERE email <> lower(email)`)).toEqual([{ n: 0 }]);
    recordReliability({ row: 17, scenario: 'statement_timeout on a long backfill', fault: 'UPDATE sleeping 2 s per row with a 500 ms budget', result: '57014, failed row recorded, nothing of the backfill kept', faults: 1, lostOrDoubled: 0 });
  });
});

describe('backups and budgets', () => {
  it('--backup writes a pg_dump that pg_restore turns back into the schema before the migration; a failing backup stops the migration', async () => {
    const { db, dir, env } = await withAccounts(50);
    addMigration(dir, '20240102000000_add_note', 'ALTER TABLE accounts ADD COLUMN note text;\n');
    const schemaBefore = dump(db, '--schema-only');
    const file = join(mkdtempSync(join(tmpdir(), 'digilog-backup-')), 'not-a-folder');
    writeFileSync(file, '');

    const refused = await runCli(['migrate', '--backup', join(file, 'sub'), '--migrations-dir', dir], env);
    expect(refused.code).toBe(EXIT_CODES['backup-failed']);
    expect(refused.stderr).toContain('Cannot create the backup folder');
    expect((await rowsOf(db)).map((r) => r.migration_name)).toEqual(['20240101000000_init']);

    // In production the backup is on by default (pg_dump is installed here).
    const backupDir = mkdtempSync(join(tmpdir(), 'digilog-backup-'));
    const run = await runCli(['migrate', '--json', '--migrations-dir', dir], { ...env, NODE_ENV: 'production', DIGILOG_BACKUP_DIR: backupDir });
    expect(run.code).toBe(0);
    const { backup } = JSON.parse(run.stdout);
    expect(backup.path).toMatch(new RegExp(`^${backupDir}/${db.name}-\\d{8}T\\d{6}Z-before-20240102000000_add_note\\.dump$`));
    expect(existsSync(backup.path)).toBe(true);
    expect(backup.bytes).toBeGreaterThan(1000);

    const restored = await database('digilog_restored');
    execFileSync(PG_RESTORE, ['--no-owner', `--dbname=${restored.url}`, backup.path]);
    expect(dump(restored, '--schema-only')).toBe(schemaBefore);
    expect(await restored.query(`SELECT count(*)::int AS n FROM accounts`)).toEqual([{ n: 50 }]);
  });

  it('a migration over its budget is reported by migrate and by status', async () => {
    const { dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_slow', '-- digilog:budget 100ms\nSELECT pg_sleep(0.4);\n');
    const run = await runCli(['migrate', '--json', '--migrations-dir', dir], env);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.applied[0]).toMatchObject({ name: '20240102000000_slow', budgetMs: 100, slow: true });
    expect(result.warnings.join('\n')).toMatch(/20240102000000_slow took 0\.\d s, over its budget of 100ms/);
    const status = await runCli(['status', '--json', '--migrations-dir', dir], env);
    expect(status.code).toBe(0);
    const slow = JSON.parse(status.stdout).slow;
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ name: '20240102000000_slow', budgetMs: 100 });
    expect(slow[0].durationMs).toBeGreaterThanOrEqual(400);
  });
});

describe('non-transactional migrations (matrix row 15)', () => {
  it('applies a file mixing CREATE INDEX CONCURRENTLY with other statements one statement at a time, as Prisma 7.4+ does, with a non-atomic finding', async () => {
    const { db, dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_mixed', 'ALTER TABLE accounts ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY accounts_note_idx ON accounts (note);\n');
    const lint = JSON.parse((await runCli(['lint', '--json', join(dir, '20240102000000_mixed')], env)).stdout);
    expect(lint.files[0].findings.map((f: { rule: string; level: string }) => [f.rule, f.level])).toContainEqual(['non-atomic-file', 'care']);
    const applied = await runCli(['migrate', '--json', '--migrations-dir', dir], env);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout).applied).toEqual([expect.objectContaining({ name: '20240102000000_mixed', mode: 'statement-by-statement' })]);
    expect(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_note_idx'::regclass`)).toEqual([{ indisvalid: true }]);
    expect((await rowsOf(db)).at(-1)).toMatchObject({ migration_name: '20240102000000_mixed', finished: true });
  });

  it('a split file that fails half-way is recorded as Prisma records it: the row unfinished with the error in logs, the earlier statements applied', async () => {
    const { db, dir, env } = await withAccounts();
    addMigration(dir, '20240102000000_mixed', 'ALTER TABLE accounts ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY accounts_note_idx ON accounts (note);\nALTER TABLE nope ADD COLUMN x int;\n');
    const failed = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(failed.code).toBe(EXIT_CODES['migration-sql']);
    expect(failed.stderr).toContain('P3018');
    const [row] = await db.query<{ finished: boolean; applied_steps_count: number; logs: string }>(
      `SELECT finished_at IS NOT NULL AS finished, applied_steps_count, logs FROM _prisma_migrations WHERE migration_name = '20240102000000_mixed'`,
    );
    expect(row).toMatchObject({ finished: false, applied_steps_count: 0 });
    expect(row!.logs).toContain('Statements 1 to 2 of this migration were applied');
    expect(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_note_idx'::regclass`)).toEqual([{ indisvalid: true }]);
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(EXIT_CODES['failed-migration']);
  });

  it('refuses a file mixing DROP INDEX CONCURRENTLY with other statements before anything runs (Prisma fails on it too); with the directive it runs them one by one', async () => {
    const { db, dir, env } = await withAccounts();
    await db.query('CREATE INDEX accounts_email_idx ON accounts (email)');
    addMigration(dir, '20240102000000_mixed', 'ALTER TABLE accounts ADD COLUMN note text;\nDROP INDEX CONCURRENTLY accounts_email_idx;\n');
    const before = dump(db);
    const refused = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(refused.code).toBe(EXIT_CODES.usage);
    expect(refused.stderr).toContain('mixes DROP INDEX CONCURRENTLY');
    expect(refused.stderr).toContain('25001');
    expect(refused.stderr).toContain('-- digilog:no-transaction');
    expect(dump(db)).toBe(before);

    addMigration(dir, '20240102000000_mixed', '-- digilog:no-transaction\nALTER TABLE accounts ADD COLUMN note text;\nDROP INDEX CONCURRENTLY accounts_email_idx;\n');
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    expect(await db.query(`SELECT to_regclass('accounts_email_idx') AS i`)).toEqual([{ i: null }]);
  });

  it('a CREATE INDEX CONCURRENTLY that fails leaves an INVALID index: recorded, reported by status and migrate, recoverable', async () => {
    const { db, dir, env } = await withAccounts();
    await db.query(`UPDATE accounts SET email = 'same@digilog.io'`);
    addMigration(dir, '20240102000000_unique_email', 'CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);\n');
    const failed = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(failed.code).toBe(EXIT_CODES['migration-sql']);
    expect((await rowsOf(db)).at(-1)).toMatchObject({ migration_name: '20240102000000_unique_email', finished: false });

    const status = await runCli(['status', '--json', '--migrations-dir', dir], env);
    expect(status.code).toBe(EXIT_CODES['failed-migration']);
    expect(JSON.parse(status.stdout).invalidIndexes).toEqual(['accounts_email_key']);
    expect((await runCli(['status', '--migrations-dir', dir], env)).stdout).toContain('DROP INDEX CONCURRENTLY "accounts_email_key"');

    // The recovery the messages describe: drop the invalid index, fix the data, resolve, migrate.
    await db.query(`DROP INDEX CONCURRENTLY accounts_email_key`);
    await db.query(`UPDATE accounts SET email = 'u' || id || '@digilog.io'`);
    expect((await runCli(['resolve', '--rolled-back', '20240102000000_unique_email', '--migrations-dir', dir], env)).code).toBe(0);
    const again = await runCli(['migrate', '--json', '--migrations-dir', dir], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).warnings).toEqual([]);
    expect(await db.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'accounts_email_key'::regclass`)).toEqual([{ indisvalid: true }]);
    recordReliability({ row: 15, scenario: 'Non-transactional migration fails midway', fault: 'CREATE UNIQUE INDEX CONCURRENTLY on duplicate data; a file mixing DROP INDEX CONCURRENTLY with other DDL', result: 'mixing refused before any change; INVALID index reported by status/migrate, recovered by the documented steps', faults: 1, badInputs: 1, lostOrDoubled: 0 });
  });
});
