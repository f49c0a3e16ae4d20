/**
 * The recovery procedures of docs/operations.md ("Troubleshooting and recovery"), followed
 * step by step with the built binary (and the API server) against the real PostgreSQL.
 * Each `it` is one section of the document; a step that changes there changes here.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../../api/test/support/server.js';
import { runCli } from '../support/cli.js';
import { adminQuery, testDatabases } from '../support/database.js';
import { REPO_ROOT, addMigration, writeMigrations } from '../support/migrations.js';

const createDatabase = testDatabases();
const docs = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');

/** The body of one "### …" section of docs/operations.md (each test checks that the steps it follows are still written there). */
function section(title: string): string {
  const start = docs.indexOf(`### ${title}\n`);
  expect(start, `docs/operations.md has "### ${title}"`).toBeGreaterThan(-1);
  const end = docs.indexOf('\n### ', start + 4);
  return docs.slice(start, end === -1 ? undefined : end);
}

/** A temporary project: prisma/schema.prisma + migrations; CLI runs from its root like an operator's checkout. */
function project(migrations: Record<string, string>): { root: string; dir: string } {
  const dir = writeMigrations(migrations);
  return { root: dirname(dirname(dir)), dir };
}

/** A copy of this repository's prisma/ folder (real schema + migrations), for the schema-aware commands. */
function projectCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'digilog-procedure-'));
  cpSync(join(REPO_ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
  return root;
}

describe('docs/operations.md procedures, step by step', () => {
  it('the app does not start: migration fails on startup → status → fix → resolve --rolled-back → the app starts healthy', async () => {
    const steps = section('The app does not start: migration fails on startup');
    expect(steps).toMatch(/digilog-db status/);
    expect(steps).toMatch(/digilog-db resolve --rolled-back "<name>"/);
    const db = await createDatabase('digilog_proc_startup', { create: false });
    const { root, dir } = project({
      '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);',
      '20240102000000_add_plan': "ALTER TABLE accounts ADD COLUMN plan text;\nUPDATE acounts SET plan = 'free' WHERE plan IS NULL;",
    });
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production' };

    // Symptom: the app exits 6 with migration.failed in its log.
    const crash = (await startServer(env, { cwd: root }).then(
      () => null,
      (error: { exitCode: number; output: string }) => error,
    ))!;
    expect(crash.exitCode).toBe(6);
    expect(crash.output).toContain('"event":"migration.failed"');
    expect(crash.output).toContain('20240102000000_add_plan');

    // 1. status: exit 6, the failed migration, the database's error, the next command.
    const status = await runCli(['status'], env, root);
    expect(status.code).toBe(6);
    expect(status.stdout).toContain('failed   20240102000000_add_plan');
    expect(status.stdout).toContain('relation "acounts" does not exist');
    expect(status.stdout).toContain('resolve --rolled-back "20240102000000_add_plan"');
    // 2. Nothing of the transactional migration was applied; fix the file.
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'plan'")).toEqual([]);
    writeFileSync(join(dir, '20240102000000_add_plan', 'migration.sql'), "ALTER TABLE accounts ADD COLUMN plan text;\nUPDATE accounts SET plan = 'free';");
    // 3. Mark the failed attempt as rolled back.
    expect((await runCli(['resolve', '--rolled-back', '20240102000000_add_plan'], env, root)).code).toBe(0);
    // 4. The app starts again, applies the fixed migration and is healthy; no "modified" warning remains.
    const server = await startServer(env, { cwd: root });
    try {
      const health = await fetch(`${server.url}/api/v1/health/db`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { database: { details: { edited: string[] } } }).database.details.edited).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect((await runCli(['status'], env, root)).code).toBe(0);
  });

  it('a migration failed in production: transactional → fix, resolve --rolled-back, migrate; no-transaction → complete by hand, resolve --applied', async () => {
    const steps = section('A migration failed in production');
    expect(steps).toMatch(/digilog-db resolve --rolled-back "<name>"` and `digilog-db migrate`/);
    expect(steps).toMatch(/digilog-db resolve --applied "<name>"/);
    const db = await createDatabase('digilog_proc_failed');
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production' };
    const { root, dir } = project({
      '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);',
      '20240102000000_unique_email': 'CREATE UNIQUE INDEX accounts_email ON accounts (emial);',
    });

    // Symptom: migrate exits 6 (P3018); the next migrate refuses (P3009); health is unhealthy.
    const failed = await runCli(['migrate'], env, root);
    expect(failed.code).toBe(6);
    expect(failed.stderr).toContain('P3018');
    expect((await runCli(['migrate'], env, root)).stderr).toContain('P3009');
    expect((await runCli(['health'], env, root)).code).toBe(8);
    // 1. status names the migration and the SQLSTATE's message.
    const status = await runCli(['status', '--json'], env, root);
    expect(status.code).toBe(6);
    const report = JSON.parse(status.stdout) as { failed: Array<{ name: string; logs: string }> };
    expect(report.failed.map((f) => f.name)).toEqual(['20240102000000_unique_email']);
    expect(report.failed[0]!.logs).toMatch(/column "emial" does not exist/);
    // 2a. Transactional: nothing left behind. Fix, resolve --rolled-back, migrate.
    writeFileSync(join(dir, '20240102000000_unique_email', 'migration.sql'), 'CREATE UNIQUE INDEX accounts_email ON accounts (email);');
    expect((await runCli(['resolve', '--rolled-back', '20240102000000_unique_email'], env, root)).code).toBe(0);
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    // 3. Check.
    expect((await runCli(['status'], env, root)).code).toBe(0);
    expect((await runCli(['health'], env, root)).code).toBe(0);

    // 2b. A no-transaction migration applied its first statement, then failed.
    addMigration(dir, '20240103000000_audit', '-- digilog:no-transaction\nCREATE TABLE audit (id int);\nCREATE INDEX CONCURRENTLY audit_id ON audti (id);');
    expect((await runCli(['migrate'], env, root)).code).toBe(6);
    const partial = JSON.parse((await runCli(['status', '--json'], env, root)).stdout) as { failed: Array<{ logs: string }> };
    expect(partial.failed[0]!.logs).toContain('Statements 1 to 1 of this migration were applied');
    // Complete the rest by hand, make the file say what was done, record it as applied.
    await db.query('CREATE INDEX CONCURRENTLY audit_id ON audit (id)');
    writeFileSync(join(dir, '20240103000000_audit', 'migration.sql'), '-- digilog:no-transaction\nCREATE TABLE audit (id int);\nCREATE INDEX CONCURRENTLY audit_id ON audit (id);');
    expect((await runCli(['resolve', '--applied', '20240103000000_audit'], env, root)).code).toBe(0);
    expect((await runCli(['status'], env, root)).code).toBe(0);
    expect((await runCli(['health'], env, root)).code).toBe(0);
  });

  it('rolling back a migration: a new migration undoes it, lint classifies it, migrate; history keeps both; slowest-migrations query', async () => {
    const steps = section('Rolling back a migration: write a new one');
    expect(steps).toMatch(/-- digilog:allow drop-table/);
    const db = await createDatabase('digilog_proc_rollback');
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production' };
    const { root, dir } = project({
      '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);',
      '20240102000000_add_nickname': 'ALTER TABLE accounts ADD COLUMN nickname text;\nCREATE TABLE nicknames_log (id int);',
    });
    expect((await runCli(['migrate'], env, root)).code).toBe(0);

    // 1. The undoing SQL in a new migration folder.
    addMigration(dir, '20240103000000_revert_add_nickname', 'ALTER TABLE accounts DROP COLUMN nickname;\nDROP TABLE nicknames_log;');
    // 2. lint: DROP COLUMN requires care; DROP TABLE is Dangerous and blocks (exit 4) until acknowledged.
    const revert = join(dir, '20240103000000_revert_add_nickname');
    const blocked = await runCli(['lint', '--json', revert], env, root);
    expect(blocked.code).toBe(4);
    const rules = (JSON.parse(blocked.stdout) as { files: Array<{ findings: Array<{ rule: string; level: string }> }> }).files[0]!.findings.map((f) => `${f.rule}:${f.level}`);
    expect(rules).toEqual(['drop-column:care', 'drop-table:dangerous']);
    writeFileSync(join(revert, 'migration.sql'), '-- digilog:allow drop-table\nALTER TABLE accounts DROP COLUMN nickname;\nDROP TABLE nicknames_log;');
    expect((await runCli(['lint', revert], env, root)).code).toBe(0);
    // 3. migrate; status up to date; the history keeps every row; the change is undone.
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['status'], env, root)).code).toBe(0);
    const rows = await db.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(['20240101000000_init', '20240102000000_add_nickname', '20240103000000_revert_add_nickname']);
    expect(await db.query("SELECT to_regclass('nicknames_log') AS t")).toEqual([{ t: null }]);

    // "Unusual migration times": the document's query, as written.
    const query = /```sql\n([\s\S]+?)```/.exec(section('Unusual migration times'))![1]!;
    const slowest = await db.query<{ migration_name: string; took: { milliseconds?: number } }>(query);
    expect(slowest).toHaveLength(3);
  });

  it('rolling back a deploy: rollback --create-only writes the migration and schema.prisma; migrate refuses the data loss until acknowledged; or reset --to', async () => {
    const steps = section('Rolling back a deploy');
    expect(steps).toMatch(/`digilog-db rollback --to <migration> --create-only`/);
    expect(steps).toMatch(/`digilog-db migrate --allow <timestamp>_rollback_to_<migration>:drop-column`/);
    expect(steps).toMatch(/`digilog-db reset --yes --to <migration>`/);
    const db = await createDatabase('digilog_proc_rollback_deploy');
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' };
    const { root, dir } = project({
      '20240101000000_init': 'CREATE TABLE "Account" ("id" INTEGER NOT NULL, CONSTRAINT "Account_pkey" PRIMARY KEY ("id"));',
      '20240102000000_add_nickname': 'ALTER TABLE "Account" ADD COLUMN "nickname" TEXT;',
    });
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['pull'], env, root)).code).toBe(0);
    await db.query(`INSERT INTO "Account" VALUES (1, 'ada'), (2, 'bob')`);

    // 1. The rollback migration and schema.prisma, written for review (create-only is not refused in production).
    const created = await runCli(['rollback', '--to', '20240101000000_init', '--create-only', '--json'], env, root);
    expect(created.code, created.stderr).toBe(0);
    const { migration, schemaPath } = JSON.parse(created.stdout) as { migration: string; schemaPath: string };
    expect(migration).toMatch(/^\d{14}_rollback_to_20240101000000_init$/);
    expect(readFileSync(join(dir, migration, 'migration.sql'), 'utf8')).toContain('ALTER TABLE "public"."Account" DROP COLUMN "nickname";');
    expect(readFileSync(schemaPath, 'utf8')).not.toContain('nickname');
    // 2. The deploy refuses the data loss with the count, then applies it once acknowledged; the history keeps every row.
    const refused = await runCli(['migrate'], env, root);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('which holds 2 non-null values');
    expect((await runCli(['migrate', '--allow', `${migration}:drop-column`], env, root)).code).toBe(0);
    expect((await runCli(['status'], env, root)).code).toBe(0);
    const rows = await db.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => r.migration_name)).toEqual(['20240101000000_init', '20240102000000_add_nickname', migration]);
    expect(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'Account'`)).toEqual([{ column_name: 'id' }]);

    // 3. Or, where the data can go: reset to a previous state.
    const dev = await createDatabase('digilog_proc_rollback_reset');
    const devEnv = { DATABASE_URL: dev.url };
    const reset = await runCli(['reset', '--yes', '--to', '20240101000000_init', '--json'], devEnv, root);
    expect(reset.code, reset.stderr).toBe(0);
    expect((JSON.parse(reset.stdout) as { applied: Array<{ name: string }> }).applied.map((a) => a.name)).toEqual(['20240101000000_init']);
    expect((await runCli(['status'], devEnv, root)).code).toBe(3);
  });

  it('schema drift and edited migrations: restore the edited file; revert or keep a manual change', async () => {
    const steps = section('Schema drift and edited migrations');
    expect(steps).toMatch(/diff --from-database --exit-code/);
    // Edited migration: status 7 and migrate refuses, until the original file is back.
    const edited = await createDatabase('digilog_proc_edited');
    const { root, dir } = project({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);' });
    const env = { DATABASE_URL: edited.url };
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    const file = join(dir, '20240101000000_init', 'migration.sql');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\nCREATE INDEX accounts_id ON accounts (id);`);
    const status = await runCli(['status'], env, root);
    expect(status.code).toBe(7);
    expect(status.stdout).toContain('edited   20240101000000_init');
    expect((await runCli(['migrate'], env, root)).code).toBe(7);
    writeFileSync(file, original);
    expect((await runCli(['status'], env, root)).code).toBe(0);

    // Drift, undone: diff --from-database prints the SQL back to the schema; apply it with psql.
    const reverted = await createDatabase('digilog_proc_drift');
    const revertRoot = projectCopy();
    const revertEnv = { DATABASE_URL: reverted.url };
    expect((await runCli(['migrate'], revertEnv, revertRoot)).code).toBe(0);
    await reverted.query('ALTER TABLE settings ADD COLUMN hotfix text');
    const drift = await runCli(['diff', '--from-database', '--exit-code'], revertEnv, revertRoot);
    expect(drift.code).toBe(3);
    expect(drift.stdout).toMatch(/ALTER TABLE "settings" DROP COLUMN "hotfix"/);
    writeFileSync(join(revertRoot, 'revert.sql'), drift.stdout);
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', reverted.url, '-f', join(revertRoot, 'revert.sql')]);
    expect((await runCli(['diff', '--from-database', '--exit-code'], revertEnv, revertRoot)).code).toBe(0);

    // Drift, kept: into schema.prisma and a migration recorded as applied in this database.
    const kept = await createDatabase('digilog_proc_keep');
    const keepRoot = projectCopy();
    const keepEnv = { DATABASE_URL: kept.url };
    expect((await runCli(['migrate'], keepEnv, keepRoot)).code).toBe(0);
    await kept.query('ALTER TABLE settings ADD COLUMN hotfix text');
    const schemaPath = join(keepRoot, 'prisma', 'schema.prisma');
    const schema = readFileSync(schemaPath, 'utf8');
    const withField = schema.replace(/(\n  description .*\n)/, '$1  hotfix      String?\n');
    expect(withField).not.toBe(schema);
    writeFileSync(schemaPath, withField);
    addMigration(join(keepRoot, 'prisma', 'migrations'), '20991231000000_keep_hotfix', 'ALTER TABLE "settings" ADD COLUMN "hotfix" TEXT;\n');
    expect((await runCli(['status'], keepEnv, keepRoot)).code).toBe(3);
    expect((await runCli(['resolve', '--applied', '20991231000000_keep_hotfix'], keepEnv, keepRoot)).code).toBe(0);
    expect((await runCli(['diff', '--from-database', '--exit-code'], keepEnv, keepRoot)).code).toBe(0);
    expect((await runCli(['status'], keepEnv, keepRoot)).code).toBe(0);
    // The migration also matches the schema for the environments that will apply it normally.
    expect((await runCli(['diff', '--exit-code'], keepEnv, keepRoot)).code).toBe(0);
  });

  it('connection problems: exit 8 naming host and port (never the password); a missing database is created by migrate', async () => {
    section('Connection problems');
    const { root } = project({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);' });
    const wrong = await runCli(['status'], { DATABASE_URL: 'postgresql://postgres:Pa55-w0rd-x@127.0.0.1:1/digilog', DIGILOG_CONNECT_RETRIES: '0' }, root);
    expect(wrong.code).toBe(8);
    expect(wrong.stderr).toContain("Can't reach database server at 127.0.0.1:1");
    expect(wrong.stdout + wrong.stderr).not.toContain('Pa55-w0rd-x');

    const missing = await createDatabase('digilog_proc_missing', { create: false });
    const env = { DATABASE_URL: missing.url };
    const status = await runCli(['status'], env, root);
    expect(status.code).toBe(8);
    expect(status.stderr).toContain('P1003');
    expect((await runCli(['health'], env, root)).code).toBe(8);
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['health'], env, root)).code).toBe(0);
  });

  it('the migration lock is held: status shows the holder, migrate times out naming it (exit 5), terminating the session frees it', async () => {
    const steps = section('The migration lock is held');
    expect(steps).toMatch(/pg_terminate_backend/);
    const db = await createDatabase('digilog_proc_lock');
    const { root } = project({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);' });
    const env = { DATABASE_URL: db.url };
    const stuck = new pg.Client({ connectionString: db.url, application_name: 'stuck-session' });
    stuck.on('error', () => {});
    await stuck.connect();
    await stuck.query('SELECT pg_advisory_lock(72707369)');
    const [{ pid }] = (await stuck.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];

    const status = await runCli(['status'], env, root);
    expect(status.stdout).toContain(`migration lock held by process ${pid} (stuck-session`);
    const timeout = await runCli(['migrate', '--lock-wait', '1000'], env, root);
    expect(timeout.code).toBe(5);
    expect(timeout.stderr).toContain(`process ${pid} (stuck-session)`);
    expect(timeout.stderr).toContain('P1002');
    // 2. End the holder's session: its session-level lock goes with it.
    await adminQuery(`SELECT pg_terminate_backend(${pid})`);
    await stuck.end().catch(() => {});
    // 3. migrate proceeds.
    expect((await runCli(['migrate', '--lock-wait', '5000'], env, root)).code).toBe(0);
    expect((await runCli(['status'], env, root)).code).toBe(0);
  });

  it('health checks fail: pending migrations with auto-migration off → health exit 8 saying so → migrate → 0', async () => {
    const steps = section('Health checks fail');
    expect(steps).toMatch(/digilog-db health/);
    const db = await createDatabase('digilog_proc_health');
    const { root, dir } = project({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);' });
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    addMigration(dir, '20240102000000_more', 'CREATE TABLE more (id int);');
    const health = await runCli(['health', '--json'], env, root);
    expect(health.code).toBe(8);
    const body = JSON.parse(health.stdout) as { status: string; database: { details: { pending: string[] } } };
    expect(body.status).toBe('unhealthy');
    expect(body.database.details.pending).toEqual(['20240102000000_more']);
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['health'], env, root)).code).toBe(0);
  });
});
