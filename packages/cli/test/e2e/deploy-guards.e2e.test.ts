/**
 * Wrong states, hangs and silent successes of a deploy, on real PostgreSQL
 * through the built binary: an uncreatable backup folder, a file that opens a
 * transaction and never ends it, a renamed applied folder, a fresh deploy
 * through the production guard, and lint agreeing with migrate.
 */
import { renameSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../src/read/engine-input.js';
import { EXIT_CODES } from '../../src/errors.js';
import { startCli, runCli, type CliRun } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { toMigration } from '../../src/read/migrations-folder.js';
import { NO_LIMITS } from '../../src/plan/plan.js';

const database = testDatabases();

/** Runs the CLI, killing it if it has not exited after `limitMs` (a hang is a failure, reported as such). */
async function runBounded(args: string[], env: Record<string, string>, limitMs = 15_000): Promise<CliRun & { killed: boolean }> {
  const started = startCli(args, env);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    started.child.kill('SIGKILL');
  }, limitMs);
  const run = await started.done;
  clearTimeout(timer);
  return { ...run, killed };
}

async function historyRows(db: TestDatabase): Promise<Array<{ migration_name: string; finished: boolean }>> {
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`);
  if (!table?.exists) return [];
  return db.query(`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at, migration_name`);
}

describe('migrate --backup into a folder that cannot be created', () => {
  it('fails at once with exit 12 naming the folder, and migrates nothing', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE t (id int);\n' });
    const run = await runBounded(['migrate', '--backup', '/proc/digilog-backups/x', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.killed).toBe(false);
    expect(run.code).toBe(EXIT_CODES['backup-failed']);
    expect(run.stderr).toContain('/proc/digilog-backups/x');
    expect(await historyRows(db)).toEqual([]);
    expect(await db.query(`SELECT to_regclass('t') AS t`)).toEqual([{ t: null }]);
  });
});

describe('a migration that opens a transaction and never ends it', () => {
  const BEGIN_ONLY = '-- CreateTable\nBEGIN;\nCREATE TABLE a (id int);\n';

  it('is refused by migrate before anything runs (exit 2, file and line), and by lint', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_begin_only': BEGIN_ONLY, '20240102000000_next': 'CREATE TABLE b (id int);\n' });
    const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stdout).not.toContain('✔');
    expect(run.stderr).toContain(`${join(dir, '20240101000000_begin_only', 'migration.sql')}:2`);
    expect(await historyRows(db)).toEqual([]);
    expect(await db.query(`SELECT to_regclass('a') AS a, to_regclass('b') AS b`)).toEqual([{ a: null, b: null }]);

    const linted = await runCli(['lint', join(dir, '20240101000000_begin_only')]);
    expect(linted.code).toBe(EXIT_CODES.usage);
    expect(linted.stdout + linted.stderr).toContain('never ends it');
  });

  it('is never recorded as applied when a script sent as written leaves its transaction open', async () => {
    const db = await database('digilog_guard');
    const { MigrationHistory } = await import('../../src/db/history.js');
    const { applyStep, recordStart } = await import('../../src/apply/apply-step.js');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const history = new MigrationHistory(client, 'public');
      await history.create();
      const migration = toMigration('20240101000000_begin_only', '/x/migration.sql', BEGIN_ONLY);
      // The mode the runner picks for a file the parser could not read: the script exactly as written.
      const step = { migration, statements: [], mode: 'as-written' as const, limits: NO_LIMITS, findings: [], worst: 'care' as const };
      const started = await recordStart(client, history, step);
      const error = await applyStep(client, history, started, undefined).then(() => null, (e: unknown) => e);
      expect(error).toMatchObject({ kind: 'migration-sql' });
      expect(String((error as Error).message)).toContain('left a transaction open');
    } finally {
      await client.end();
    }
    expect(await historyRows(db)).toEqual([{ migration_name: '20240101000000_begin_only', finished: false }]);
    expect(await db.query(`SELECT to_regclass('a') AS a`)).toEqual([{ a: null }]);
  });
});

describe('a renamed applied migration folder', () => {
  it('is reported as a rename by status and migrate (exit 7), never applied again, and recorded with resolve --applied', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE seed (id int);\n', '20240101000001_ins': 'INSERT INTO seed VALUES (1);\n' });
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    renameSync(join(dir, '20240101000001_ins'), join(dir, '20240101000001_insert_seed'));

    const status = await runCli(['status', '--migrations-dir', dir], env);
    expect(status.code).toBe(EXIT_CODES['history-mismatch']);
    expect(status.stdout).toContain('20240101000001_insert_seed is 20240101000001_ins (applied) under a new name');
    expect(status.stdout).toContain('digilog-db resolve --applied "20240101000001_insert_seed"');
    expect(status.stdout).not.toContain('• pending');

    for (const extra of [{}, { NODE_ENV: 'production', DIGILOG_BACKUP: 'false' }]) {
      const run = await runCli(['migrate', '--json', '--migrations-dir', dir], { ...env, ...extra });
      expect(run.code).toBe(EXIT_CODES['history-mismatch']);
      const error = JSON.parse(run.stdout).error;
      expect(error.message).toContain('20240101000001_ins → 20240101000001_insert_seed');
      expect(error.hint).toContain('digilog-db resolve --applied "20240101000001_insert_seed"');
    }
    expect(await db.query(`SELECT count(*)::int AS n FROM seed`)).toEqual([{ n: 1 }]);

    expect((await runCli(['resolve', '--applied', '20240101000001_insert_seed', '--migrations-dir', dir], env)).code).toBe(0);
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(0);
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM seed`)).toEqual([{ n: 1 }]);
  });

  it('in production, nothing is applied while applied migrations are missing from disk, unless --allow-missing-history', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE seed (id int);\n' });
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    rmSync(join(dir, '20240101000000_init'), { recursive: true });
    const production = { ...env, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' };
    // Nothing to apply (an older replica of a rolling deploy): it only warns.
    expect((await runCli(['migrate', '--migrations-dir', dir], production)).code).toBe(0);
    addMigration(dir, '20240102000000_more', 'CREATE TABLE more (id int);\n');

    const refused = await runCli(['migrate', '--migrations-dir', dir], production);
    expect(refused.code).toBe(EXIT_CODES['history-mismatch']);
    expect(refused.stderr).toContain('20240101000000_init');
    expect(refused.stderr).toContain('--allow-missing-history');
    expect(await db.query(`SELECT to_regclass('more') AS t`)).toEqual([{ t: null }]);

    const help = await runCli(['migrate', '--help']);
    expect(help.stdout).toContain('--allow-missing-history');

    expect((await runCli(['migrate', '--allow-missing-history', '--migrations-dir', dir], production)).code).toBe(0);
    expect(await db.query(`SELECT to_regclass('more') IS NOT NULL AS t`)).toEqual([{ t: true }]);
  });
});

describe('a fresh deploy through the production guard', () => {
  const production = { NODE_ENV: 'production', DIGILOG_BACKUP: 'false' };

  it('DROP … IF EXISTS of something that neither exists nor is created earlier is Safe; of something that exists it is still refused', async () => {
    const files = {
      '20240101000000_init': 'CREATE SCHEMA IF NOT EXISTS s;\nCREATE TABLE s.keep (id int);\nDROP TABLE IF EXISTS s.t;\nDROP TABLE IF EXISTS "Gone" CASCADE;\n',
    };
    const fresh = await database('digilog_guard');
    const applied = await runCli(['migrate', '--migrations-dir', writeMigrations(files)], { DATABASE_URL: fresh.url, ...production });
    expect(applied.stderr).not.toContain('Refusing');
    expect(applied.code).toBe(0);

    const existing = await database('digilog_guard');
    await existing.query(`CREATE SCHEMA s; CREATE TABLE s.t (id int); INSERT INTO s.t VALUES (1)`);
    // An unmanaged schema is not empty (P3005): baseline an empty first migration, then deploy.
    const dir = writeMigrations({ '20231231000000_baseline': '-- baseline\n', ...files });
    expect((await runCli(['resolve', '--applied', '20231231000000_baseline', '--migrations-dir', dir], { DATABASE_URL: existing.url })).code).toBe(0);
    const refused = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: existing.url, ...production });
    expect(refused.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(refused.stderr).toContain('[drop-table] "t"');
    expect(refused.stderr).not.toContain('"Gone"');
    expect(await existing.query(`SELECT count(*)::int AS n FROM s.t`)).toEqual([{ n: 1 }]);
  });

  it('acknowledges a Dangerous change outside the file: digilog.acknowledgements or --allow, with the hint saying so', async () => {
    const setup = async () => {
      const db = await database('digilog_guard');
      const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE legacy (id int);\n' });
      expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
      await db.query('INSERT INTO legacy VALUES (1)');
      addMigration(dir, '20240103000000_drop_legacy', 'DROP TABLE legacy;\n');
      return { db, dir, env: { DATABASE_URL: db.url, ...production } };
    };
    const a = await setup();
    const blocked = await runCli(['migrate', '--json', '--migrations-dir', a.dir], a.env);
    expect(blocked.code).toBe(EXIT_CODES['dangerous-blocked']);
    const hint = JSON.parse(blocked.stdout).error.hint as string;
    expect(hint).toContain('"20240103000000_drop_legacy drop-table" to digilog.acknowledgements');
    expect(hint).toContain('--allow 20240103000000_drop_legacy:drop-table');

    writeFileSync(join(a.dir, 'digilog.acknowledgements'), '# reviewed in PR 42\n20240103000000_drop_legacy drop-table  # replaced by accounts\n');
    // Prisma's schema engine is handed the sub-folders only: the file is not a migration to it.
    expect(migrationsList(a.dir).migrationDirectories.map((d) => d.path)).toEqual(['20240101000000_init', '20240103000000_drop_legacy']);
    expect((await runCli(['lint', '--migrations-dir', a.dir])).code).toBe(0);
    expect((await runCli(['status', '--migrations-dir', a.dir], a.env)).code).toBe(EXIT_CODES.pending);
    expect((await runCli(['migrate', '--migrations-dir', a.dir], a.env)).code).toBe(0);
    expect(await a.db.query(`SELECT to_regclass('legacy') AS t`)).toEqual([{ t: null }]);

    const b = await setup();
    const wrongRule = await runCli(['migrate', '--allow', '20240103000000_drop_legacy:drop-tables', '--migrations-dir', b.dir], b.env);
    expect(wrongRule.code).toBe(EXIT_CODES.usage);
    expect((await runCli(['migrate', '--allow', '20240103000000_drop_legacy:drop-table', '--migrations-dir', b.dir], b.env)).code).toBe(0);
    expect(await b.db.query(`SELECT to_regclass('legacy') AS t`)).toEqual([{ t: null }]);
  });
});

describe('lint agrees with migrate', () => {
  const outside = () => mkdtempSync(join(tmpdir(), 'digilog-lint-'));

  it('refuses what migrate refuses before running a file (exit 2, naming the file)', async () => {
    const files = {
      '20240101000000_mixed': 'CREATE TABLE a (id int);\nDROP INDEX CONCURRENTLY a_id;\n',
      '20240102000000_bad_directive': '-- digilog:lock-timeout soon\nCREATE TABLE b (id int);\n',
      '20240103000000_begin_only': 'BEGIN;\nCREATE TABLE c (id int);\n',
    };
    for (const [name, sql] of Object.entries(files)) {
      const dir = writeMigrations({ [name]: sql });
      const db = await database('digilog_guard');
      const migrated = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
      expect(migrated.code).toBe(EXIT_CODES.usage);
      const linted = await runCli(['lint', join(dir, name)], {}, outside());
      expect(linted.code).toBe(EXIT_CODES.usage);
      expect(linted.stderr).toContain(name);
    }
  });

  it('lints explicit files outside any project, and a missing path is one clear line with exit 2', async () => {
    const cwd = outside();
    writeFileSync(join(cwd, 'add.sql'), 'CREATE TABLE a (id int);\n');
    const ok = await runCli(['lint', join(cwd, 'add.sql')], {}, cwd);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);

    const missing = await runCli(['lint', join(cwd, 'nope.sql')], {}, cwd);
    expect(missing.code).toBe(EXIT_CODES.usage);
    expect(missing.stderr).toContain(`No such file or folder: ${join(cwd, 'nope.sql')}`);
    expect(missing.stderr).not.toContain('SQLSTATE');
  });
});

describe('status --json states the schema as it is', () => {
  it('schemaEmpty is false on a populated schema and true on one holding only the history table', async () => {
    const db = await database('digilog_guard');
    const env = { DATABASE_URL: db.url };
    const empty = writeMigrations({ '20240101000000_noop': 'SELECT 1;\n' });
    expect((await runCli(['migrate', '--migrations-dir', empty], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['status', '--json', '--migrations-dir', empty], env)).stdout)).toMatchObject({ state: 'upToDate', schemaEmpty: true });

    addMigration(empty, '20240102000000_accounts', 'CREATE TABLE accounts (id int PRIMARY KEY);\n');
    expect((await runCli(['migrate', '--migrations-dir', empty], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['status', '--json', '--migrations-dir', empty], env)).stdout)).toMatchObject({ state: 'upToDate', schemaEmpty: false });
  });
});
