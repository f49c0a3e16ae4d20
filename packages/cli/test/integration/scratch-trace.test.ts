/**
 * `migrate --dry-run --trace` on a scratch database, against real PostgreSQL: the target's applied
 * history is replayed on the empty scratch database, the pending migrations run there traced (their
 * locks, in --json, the JSON log and the human output), the scratch database is emptied again, and
 * the target is only read (its _prisma_migrations rows and its schema are byte-for-byte the same).
 * Every bad input is one line, its exit code, and nothing changed anywhere. Then whole histories
 * (the fixtures and the three real ones): two thirds applied, the rest traced --online on the scratch database.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/deploy/migrate.js';
import type { StatementTrace } from '../../src/apply/statement-trace.js';
import { runCli, startCli, type CliRun } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, FIXTURE_HISTORIES, HISTORIES_DIR, WORKLOADS, workloadsDir, writeMigrations } from '../support/migrations.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { join } from 'node:path';
import { testRunner } from '../support/runner.js';
import { parseTarget } from '../../src/config/target.js';
import { validateJson } from '../support/golden.js';
import { schemaDump } from '../support/psql.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const database = testDatabases();
const PASSWORD = 'scr4tch-pw-never-printed';

/** The URL with a password (trust authentication ignores it), to prove it is never printed. */
const withPassword = (url: string) => url.replace('postgresql://postgres@', `postgresql://postgres:${PASSWORD}@`);

const INIT = 'CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "email" TEXT, "name" TEXT);\nCREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "authorId" INTEGER, "title" TEXT);\n';
const CHANGE = 'CREATE INDEX "User_email_idx" ON "User"("email");\nALTER TABLE "Post" ALTER COLUMN "title" SET NOT NULL;\n';

/** A target with its first migration applied and rows in it, one pending migration, and an empty scratch database. */
async function setUp(): Promise<{ target: TestDatabase; scratch: TestDatabase; dir: string }> {
  const target = await database('digilog_scratch_target');
  const scratch = await database('digilog_scratch');
  const dir = writeMigrations({ '20240101000000_init': INIT });
  await migrate(testRunner(target.url, dir));
  await target.query(`INSERT INTO "User" (email, name) SELECT 'u' || g || '@x.io', 'n' || g FROM generate_series(1, 500) g;
    INSERT INTO "Post" ("authorId", title) SELECT g, 't' || g FROM generate_series(1, 500) g`);
  addMigration(dir, '20240102000000_change', CHANGE);
  return { target, scratch, dir };
}

/** What the dry run must not change: the history rows, every column, and the schema as pg_dump prints it. */
async function snapshot(db: TestDatabase): Promise<string> {
  const rows = await db.query('SELECT * FROM _prisma_migrations ORDER BY started_at, id');
  return `${JSON.stringify(rows)}\n${schemaDump(db.url)}`;
}

async function userObjects(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp%'`,
  );
  return rows.map((r) => r.name);
}

const dryRun = (dir: string, target: TestDatabase, extra: string[], env: Record<string, string> = {}) =>
  runCli(['migrate', '--dry-run', '--migrations-dir', dir, ...extra], { DATABASE_URL: withPassword(target.url), ...env });

const errorLines = (run: CliRun) => run.stderr.split('\n').filter((l) => l.startsWith('Error:'));

describe('migrate --dry-run --trace on a scratch database', () => {
  it('replays the applied history there, traces the pending statements (CREATE INDEX takes SHARE), empties it again and leaves the target as it was', async () => {
    const { target, scratch, dir } = await setUp();
    const before = await snapshot(target);
    const run = await dryRun(dir, target, ['--trace', '--json', '--scratch-url', withPassword(scratch.url)]);
    expect(run.code, run.stderr).toBe(3);
    const document = JSON.parse(run.stdout);
    expect(validateJson('migrate', document)).toEqual([]);
    expect(document.trace).toMatchObject({ database: parseTarget(scratch.url).label, replayed: 1, leftover: [] });
    const [change] = document.trace.applied as Array<{ name: string; trace: StatementTrace[] }>;
    expect(change!.name).toBe('20240102000000_change');
    expect(change!.trace.map((t) => t.statement)).toEqual([1, 2]);
    expect(change!.trace[0]!.locks).toContainEqual(expect.objectContaining({ relation: '"User"', mode: 'ShareLock' }));
    expect(change!.trace[1]!.locks).toContainEqual(expect.objectContaining({ relation: '"Post"', mode: 'AccessExclusiveLock' }));
    expect(await snapshot(target)).toBe(before);
    expect(await userObjects(scratch)).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('with --online the build runs CONCURRENTLY there (SHARE UPDATE EXCLUSIVE, never SHARE), in the human output and the JSON log too', async () => {
    const { target, scratch, dir } = await setUp();
    const before = await snapshot(target);
    const human = await dryRun(dir, target, ['--trace', '--online'], { DIGILOG_SCRATCH_URL: withPassword(scratch.url) });
    expect(human.code, human.stderr).toBe(3);
    const line = human.stdout.split('\n').find((l) => l.includes('trace 20240102000000_change #1'));
    expect(line).toMatch(/CREATE INDEX CONCURRENTLY "User_email_idx" .* \d+ ms: .*SHARE UPDATE EXCLUSIVE on "User"/);
    expect(line).not.toMatch(/\bSHARE on "User"/);
    expect(human.stdout).toMatch(/Traced on the scratch database \S+ \(the target's 1 applied migration replayed first\), which is empty again\./);

    const logged = await dryRun(dir, target, ['--trace', '--online', '--scratch-url', withPassword(scratch.url)], { LOG_FORMAT: 'json' });
    expect(logged.code, logged.stderr).toBe(3);
    const traces = logged.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.event === 'migration.trace');
    const build = traces.find((t) => String(t.sql).includes('CONCURRENTLY'));
    expect(build).toMatchObject({ migration: '20240102000000_change', observedBy: 'sampling', locks: expect.arrayContaining([expect.objectContaining({ relation: '"User"', mode: 'ShareUpdateExclusiveLock' })]) });
    expect(build.locks.map((l: { mode: string }) => l.mode)).not.toContain('ShareLock');
    expect(await snapshot(target)).toBe(before);
    expect(await userObjects(scratch)).toEqual([]);
    expect(human.stdout + human.stderr + logged.stderr).not.toContain(PASSWORD);
  });

  it('a pending migration that fails on the scratch database: exit 6, saying so, the scratch database emptied, the target unchanged', async () => {
    const { target, scratch, dir } = await setUp();
    addMigration(dir, '20240103000000_broken', 'ALTER TABLE "Nope" ADD COLUMN "x" INTEGER;\n');
    const before = await snapshot(target);
    const run = await dryRun(dir, target, ['--trace', '--scratch-url', withPassword(scratch.url)]);
    expect(run.code).toBe(6);
    expect(errorLines(run)).toEqual([expect.stringMatching(/^Error: Running the pending migrations on the scratch database \S+ failed: Migration 20240103000000_broken failed/)]);
    expect(run.stderr).toContain('Nothing was changed on the target database; the scratch database is empty again.');
    expect(await snapshot(target)).toBe(before);
    expect(await userObjects(scratch)).toEqual([]);
  });

  it('two dry runs on one scratch database at once: the second waits for the first to empty it, both trace', async () => {
    const { target, scratch, dir } = await setUp();
    const runs = await Promise.all([1, 2].map(() => dryRun(dir, target, ['--trace', '--json', '--scratch-url', withPassword(scratch.url)])));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(3);
      const { trace } = JSON.parse(run.stdout);
      expect(trace.leftover).toEqual([]);
      expect(trace.applied[0].trace[0].locks).toContainEqual(expect.objectContaining({ relation: '"User"', mode: 'ShareLock' }));
    }
    expect(await userObjects(scratch)).toEqual([]);
  });

  it('SIGTERM while a migration runs on the scratch database: it finishes, no later one starts, the scratch database is emptied, exit 11', async () => {
    const { target, scratch, dir } = await setUp();
    addMigration(dir, '20240103000000_slow', 'CREATE TABLE "Slow" ("id" INTEGER);\nSELECT pg_sleep(1.5);\n');
    addMigration(dir, '20240104000000_later', 'CREATE TABLE "Later" ("id" INTEGER);\n');
    const before = await snapshot(target);
    const started = startCli(['migrate', '--dry-run', '--trace', '--migrations-dir', dir, '--scratch-url', withPassword(scratch.url)], { DATABASE_URL: withPassword(target.url) });
    // Sent once the slow migration is running on the scratch database, seen from PostgreSQL itself.
    for (let i = 0; i < 200; i++) {
      const sleeping = await scratch.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(1.5)%' AND pid <> pg_backend_pid()`);
      if (sleeping.length > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    started.child.kill('SIGTERM');
    const run = await started.done;
    expect(run.code, run.stderr).toBe(11);
    expect(errorLines(run)).toEqual([expect.stringMatching(/^Error: Running the pending migrations on the scratch database \S+ stopped: Stopped by a signal after 2 of 3 pending migrations; 20240104000000_later and later were not started/)]);
    expect(run.stderr).toContain('the scratch database is empty again');
    expect(await snapshot(target)).toBe(before);
    expect(await userObjects(scratch)).toEqual([]);
  });

  it('empties the scratch database of everything the migrations made: schemas, extensions, enums, domains, functions, views, sequences', async () => {
    const { target, scratch, dir } = await setUp();
    addMigration(dir, '20240103000000_objects', `CREATE EXTENSION IF NOT EXISTS "citext";
CREATE SCHEMA "audit";
CREATE TABLE "audit"."Event" ("id" SERIAL PRIMARY KEY, "at" TIMESTAMPTZ);
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
CREATE DOMAIN "positive" AS INTEGER CHECK (VALUE > 0);
CREATE SEQUENCE "ticket_seq";
ALTER TABLE "User" ADD COLUMN "role" "Role", ADD COLUMN "nick" citext;
CREATE VIEW "Admins" AS SELECT "id" FROM "User" WHERE "role" = 'ADMIN';
CREATE FUNCTION "touch"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER "User_touch" BEFORE UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION "touch"();
`);
    const extensionsBefore = await scratch.query('SELECT extname FROM pg_extension ORDER BY 1');
    const run = await dryRun(dir, target, ['--trace', '--json', '--scratch-url', withPassword(scratch.url)]);
    expect(run.code, run.stderr).toBe(3);
    expect(JSON.parse(run.stdout).trace.leftover).toEqual([]);
    expect(await userObjects(scratch)).toEqual([]);
    expect(await scratch.query('SELECT extname FROM pg_extension ORDER BY 1')).toEqual(extensionsBefore);
    expect(await scratch.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'audit'`)).toEqual([]);
    expect(await scratch.query(`SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'`)).toEqual([]);
    expect(await scratch.query(`SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'`)).toEqual([]);
  });

  it('bad inputs: one line each, their exit code, nothing changed and no password printed', async () => {
    const { target, scratch, dir } = await setUp();
    await scratch.query('CREATE TABLE "keep" (id int); INSERT INTO "keep" VALUES (1)');
    const before = await snapshot(target);
    const sameHostOtherSpelling = withPassword(target.url).replace('127.0.0.1', 'localhost');
    const cases: Array<{ args: string[]; env?: Record<string, string>; code: number; line: RegExp }> = [
      { args: ['--trace', '--scratch-url', sameHostOtherSpelling], code: 2, line: /^Error: --scratch-url names the database being migrated \(\S+\): the scratch database must be another, empty one/ },
      { args: ['--trace'], env: { DIGILOG_SCRATCH_URL: withPassword(target.url) }, code: 2, line: /^Error: DIGILOG_SCRATCH_URL names the database being migrated/ },
      { args: ['--trace', '--scratch-url', withPassword(scratch.url)], code: 2, line: /^Error: The scratch database \S+ is not empty \(1 object: table "public"\."keep"\): it must be an empty database/ },
      { args: ['--trace', '--scratch-url', `postgresql://postgres:${PASSWORD}@127.0.0.1:1/nowhere`], code: 8, line: /^Error: Scratch database: Can't reach database server at 127\.0\.0\.1:1/ },
      { args: ['--trace', '--scratch-url', 'nonsense'], code: 2, line: /^Error: --scratch-url is not a valid PostgreSQL connection string/ },
      { args: ['--trace'], code: 2, line: /^Error: --dry-run --trace needs a scratch database to run the pending migrations on/ },
      { args: ['--scratch-url', withPassword(scratch.url)], code: 2, line: /^Error: --scratch-url needs --dry-run --trace/ },
      { args: ['--trace', '--format', 'github', '--scratch-url', withPassword(scratch.url)], code: 2, line: /^Error: --trace prints in text or --json, not --format github/ },
    ];
    for (const c of cases) {
      const run = await dryRun(dir, target, c.args, { DIGILOG_CONNECT_RETRIES: '0', ...c.env });
      expect(run.code, `${c.args.join(' ')}: ${run.stderr}`).toBe(c.code);
      expect(errorLines(run), c.args.join(' ')).toEqual([expect.stringMatching(c.line)]);
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    }
    // The same database by another route (a proxy on another port): the URLs differ, PostgreSQL says it is the one.
    const upstream = new URL(target.url);
    const proxy = await startTcpProxy(Number(upstream.port || 5432), upstream.hostname);
    try {
      const viaProxy = withPassword(target.url).replace(`@${upstream.host}/`, `@127.0.0.1:${proxy.port}/`);
      const run = await dryRun(dir, target, ['--trace', '--scratch-url', viaProxy]);
      expect(run.code, run.stderr).toBe(2);
      expect(errorLines(run)).toEqual([expect.stringMatching(new RegExp(`^Error: The scratch database 127\\.0\\.0\\.1:${proxy.port}/\\S+ is the database being migrated, reached by another address`))]);
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    } finally {
      await proxy.close();
    }
    const notDry = await runCli(['migrate', '--trace', '--migrations-dir', dir, '--scratch-url', withPassword(scratch.url)], { DATABASE_URL: target.url });
    expect(notDry.code).toBe(2);
    expect(errorLines(notDry)).toEqual([expect.stringMatching(/^Error: --scratch-url needs --dry-run --trace/)]);
    expect(await snapshot(target)).toBe(before);
    expect(await scratch.query('SELECT id FROM "keep"')).toEqual([{ id: 1 }]);
    expect(await userObjects(scratch)).toEqual(['public.keep']);
  });

  /** The first two thirds applied to the target, the rest traced --online on the scratch database: the target as it was, the scratch database empty. */
  async function traceHistory(dir: string): Promise<void> {
    const target = await database('digilog_scratch_history');
    const scratch = await database('digilog_scratch');
    const names = readMigrations(dir).map((m) => m.name);
    const applied = Math.max(1, Math.floor((names.length * 2) / 3));
    await migrate({ ...testRunner(target.url, dir), to: names[applied - 1]! });
    const before = await snapshot(target);
    const run = await dryRun(dir, target, ['--trace', '--online', '--json', '--scratch-url', scratch.url]);
    expect(run.code, run.stderr).toBe(3);
    const document = JSON.parse(run.stdout);
    expect(validateJson('migrate', document)).toEqual([]);
    expect(document.trace).toMatchObject({ replayed: applied, leftover: [] });
    expect(document.trace.applied.map((a: { name: string }) => a.name)).toEqual(names.slice(applied));
    expect(await snapshot(target)).toBe(before);
    expect(await userObjects(scratch)).toEqual([]);
  }

  it.each(FIXTURE_HISTORIES)('fixture history %s: replayed, traced --online, emptied; the target unchanged', async (history) => {
    await traceHistory(join(HISTORIES_DIR, history));
  });

  it.for(WORKLOADS)('real history %s: replayed, traced --online, emptied; the target unchanged', { timeout: 120_000 }, async (workload, context) => {
    await traceHistory(join(workloadsDir(context), workload, 'migrations'));
  });
});
