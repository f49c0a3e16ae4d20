/**
 * `migrate --online` on real PostgreSQL: every rewrite runs while a writer
 * keeps writing, ends in the same schema (pg_dump) as the plain apply and the
 * row Prisma writes; the dry run shows what runs instead; the production guard
 * judges what runs; a kill -9 before each step, inside a concurrent index
 * build and inside a batched UPDATE leaves a state `status` names and that
 * `migrate --online` completes: no INVALID index, no duplicate constraint,
 * every row updated exactly once.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { ensureMigrated } from '../../src/deploy/ensure-migrated.js';
import { migrate, type MigrateEvent } from '../../src/deploy/migrate.js';
import { findPgDump } from '../../src/deploy/backup.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/counting.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, REPO_ROOT, writeMigrations } from '../support/migrations.js';
import { testRunner } from '../support/runner.js';
import { validateJson } from '../support/golden.js';

const database = testDatabases();
const PG_DUMP = findPgDump()!;
const RUNNER = join(REPO_ROOT, 'packages', 'cli', 'test', 'support', 'online-runner.mjs');

const INIT = `CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "email" TEXT, "name" TEXT);
CREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "authorId" INTEGER, "title" TEXT, "slug" TEXT, "views" INTEGER NOT NULL DEFAULT 0);
`;
/** One Prisma-shaped migration with every rewrite (11 online steps). */
const CHANGE = `-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
UPDATE "Post" SET "views" = "views" + 1;
UPDATE "Post" SET "title" = 'untitled' WHERE "title" IS NULL;
ALTER TABLE "Post" ALTER COLUMN "title" SET NOT NULL;
ALTER TABLE "Post" ADD CONSTRAINT "Post_slug_key" UNIQUE ("slug");
ALTER TABLE "User" ADD CONSTRAINT "User_name_check" CHECK (length("name") > 0);
`;
const STEPS = 11;
const ROWS = 3_000;

function schemaDump(db: TestDatabase): string {
  const text = execFileSync(PG_DUMP, ['--schema-only', '--no-owner', `--dbname=${db.url}`], { encoding: 'utf8' });
  return text.replace(/^\\(un)?restrict \S+$/gm, '');
}

/** A database with the init migration applied and ROWS users and posts (a third of the titles NULL). */
async function seeded(): Promise<{ db: TestDatabase; dir: string }> {
  const db = await database('digilog_online');
  const dir = writeMigrations({ '20240101000000_init': INIT });
  await migrate(testRunner(db.url, dir));
  await db.query(`INSERT INTO "User" (email, name) SELECT 'u' || g || '@x.io', 'n' || g FROM generate_series(1, ${ROWS}) g;
    INSERT INTO "Post" ("authorId", title, slug) SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 't' || g END, 's' || g FROM generate_series(1, ${ROWS}) g;
    ANALYZE`);
  addMigration(dir, '20240102000000_change', CHANGE);
  return { db, dir };
}

/** The plain apply of the same history on a twin database: the schema --online must end in. */
let plainDump: string | undefined;
async function expectedDump(): Promise<string> {
  if (plainDump) return plainDump;
  const { db, dir } = await seeded();
  expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
  return (plainDump = schemaDump(db));
}

async function expectCompleted(db: TestDatabase): Promise<void> {
  expect(schemaDump(db)).toBe(await expectedDump());
  expect(await db.query(`SELECT count(*)::int AS n FROM pg_index WHERE NOT indisvalid`)).toEqual([{ n: 0 }]);
  expect(await db.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conname LIKE 'digilog_not_null_%'`)).toEqual([{ n: 0 }]);
  // Every post updated exactly once by the non-idempotent batched UPDATE.
  expect(await db.query(`SELECT min(views)::int AS lo, max(views)::int AS hi FROM "Post" WHERE id <= ${ROWS}`)).toEqual([{ lo: 1, hi: 1 }]);
  expect(await db.query(`SELECT migration_name, finished_at IS NOT NULL AS finished, logs, applied_steps_count, rolled_back_at FROM _prisma_migrations WHERE migration_name = '20240102000000_change'`)).toEqual([
    { migration_name: '20240102000000_change', finished: true, logs: null, applied_steps_count: 1, rolled_back_at: null },
  ]);
}

/** Application traffic: inserts valid posts and updates users in a loop. */
function traffic(db: TestDatabase): { stop: () => Promise<{ writes: number; errors: string[]; maxMs: number }> } {
  const client = new pg.Client({ connectionString: db.url, application_name: 'app' });
  let running = true;
  const errors: string[] = [];
  let writes = 0;
  let maxMs = 0;
  const loop = (async () => {
    await client.connect();
    for (let i = 0; running; i++) {
      const started = performance.now();
      const sql =
        i % 2 === 0
          ? `INSERT INTO "Post" ("authorId", title, slug) VALUES (${1 + (i % ROWS)}, 'live', 'live-${i}-' || gen_random_uuid())`
          : `UPDATE "User" SET name = 'n' || id WHERE id = ${1 + (i % ROWS)}`;
      await client.query(sql).then(() => writes++, (e: Error) => errors.push(e.message));
      maxMs = Math.max(maxMs, performance.now() - started);
    }
    await client.end();
  })();
  return { stop: async () => ((running = false), await loop, { writes, errors, maxMs }) };
}

/** Runs migrate() in a child (support/online-runner.mjs) that hangs before online step `step`; kills it -9 there. */
async function killBeforeStep(db: TestDatabase, dir: string, step: number): Promise<void> {
  const options = testRunner(db.url, dir, { online: true, lockTimeoutMs: 1_000, lockRetryBudgetMs: 10_000, batchSize: 700 });
  const child = spawn(process.execPath, [RUNNER], { env: { PATH: process.env.PATH, DIGILOG_TEST_OPTIONS: JSON.stringify(options), DIGILOG_TEST_STOP_AT: String(step) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  await eventually(`runner at step ${step}`, async () => out.includes(`at step ${step}`) || child.exitCode !== null, 20_000);
  expect(out).toContain(`at step ${step}`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  await eventually('killed backend gone', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'digilog-db test'`)).length === 0);
}

/** After a crash: status names the interrupted online migration; plain migrate refuses it; migrate --online completes it. */
async function expectRecovers(db: TestDatabase, dir: string): Promise<void> {
  const env = { DATABASE_URL: db.url };
  const status = await runCli(['status', '--migrations-dir', dir], env);
  expect(status.code).toBe(EXIT_CODES['failed-migration']);
  expect(status.stdout + status.stderr).toContain('digilog-db migrate --online');
  expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(EXIT_CODES['failed-migration']);
  const rerun = await runCli(['migrate', '--online', '--migrations-dir', dir], env);
  expect(rerun.code, rerun.stderr).toBe(0);
  await expectCompleted(db);
}

describe('migrate --online', () => {
  it('applies every rewrite while a writer writes: no client error, the same schema as the plain apply, the row Prisma writes', async () => {
    const { db, dir } = await seeded();
    const app = traffic(db);
    await new Promise((r) => setTimeout(r, 100));
    const run = await runCli(['migrate', '--online', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url, DIGILOG_BATCH_SIZE: '500' });
    const writes = await app.stop();
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).applied[0]).toMatchObject({ name: '20240102000000_change', onlineSteps: STEPS });
    expect(validateJson('migrate', JSON.parse(run.stdout))).toEqual([]);
    expect(writes.errors).toEqual([]);
    expect(writes.writes).toBeGreaterThan(50);
    await expectCompleted(db);
  });

  it('--dry-run --online shows each statement, what runs instead, its lock and what it blocks; changes nothing', async () => {
    const { db, dir } = await seeded();
    const before = schemaDump(db);
    const run = await runCli(['migrate', '--dry-run', '--online', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code).toBe(EXIT_CODES.pending);
    expect(validateJson('migrate', JSON.parse(run.stdout))).toEqual([]);
    const [form] = JSON.parse(run.stdout).online;
    expect(form).toMatchObject({ migration: '20240102000000_change', rewritten: true, atomic: false });
    expect(form.units).toHaveLength(STEPS);
    expect(form.statements[0]).toMatchObject({ rule: 'index-concurrently', runs: [{ sql: expect.stringContaining('CREATE UNIQUE INDEX CONCURRENTLY "User_email_key"'), lock: 'ShareUpdateExclusiveLock' }] });
    expect(form.statements[1].runs.map((r: { sql: string }) => r.sql)).toEqual([expect.stringMatching(/FOREIGN KEY .* NOT VALID$/), 'ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey"']);
    expect(form.statements[4].rule).toBe('not-null-via-check');
    const human = await runCli(['migrate', '--dry-run', '--online', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(human.stdout).toContain(`runs in ${STEPS} steps, each committed on its own: not atomic`);
    expect(human.stdout).toContain('→ ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey"\n         SHARE UPDATE EXCLUSIVE on "Post", blocks nothing');
    expect(schemaDump(db)).toBe(before);
  });

  it('the production guard judges what runs: a CREATE INDEX on a big table is refused as written, let through --online', async () => {
    const { db, dir } = await seeded();
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production', DIGILOG_BACKUP: 'false', DIGILOG_LARGE_TABLE_ROWS: '1000' };
    addMigration(dir, '20240102000000_change', 'CREATE INDEX "Post_title_idx" ON "Post"("title");\n');
    const plain = await runCli(['migrate', '--json', '--migrations-dir', dir], env);
    expect(plain.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(JSON.parse(plain.stdout).error.message).toContain('[create-index] "Post"');
    const online = await runCli(['migrate', '--json', '--migrations-dir', dir], { ...env, DIGILOG_ONLINE: 'true' });
    expect(online.code, online.stdout).toBe(0);
    expect(await db.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'Post_title_idx'`)).toEqual([{ indexdef: 'CREATE INDEX "Post_title_idx" ON public."Post" USING btree (title)' }]);
  });

  it('an online step waits out a blocker that ends after two attempts (lock retries), the writer never waits longer than one', async () => {
    const { db, dir } = await seeded();
    addMigration(dir, '20240102000000_change', 'ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id");\n');
    const holder = new pg.Client({ connectionString: db.url, application_name: 'batch-job' });
    await holder.connect();
    await holder.query(`BEGIN; UPDATE "Post" SET views = views WHERE id = 1`);
    const app = traffic(db);
    const events: MigrateEvent[] = [];
    const result = await migrate({
      ...testRunner(db.url, dir, { online: true, lockTimeoutMs: 400, lockRetryBudgetMs: 20_000 }),
      onEvent(event) {
        events.push(event);
        if (event.type === 'lock-retry' && event.attempt === 2) void holder.query('COMMIT');
      },
    });
    const writes = await app.stop();
    await holder.end();
    expect(events.filter((e) => e.type === 'lock-retry').map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
    expect(result.applied[0]).toMatchObject({ onlineSteps: 2, lockRetries: 2 });
    expect(writes.errors).toEqual([]);
    expect(writes.maxMs).toBeLessThan(1_000);
    expect(await db.query(`SELECT convalidated FROM pg_constraint WHERE conname = 'Post_authorId_fkey'`)).toEqual([{ convalidated: true }]);
  });

  it('ensureMigrated() at API boot honours DIGILOG_ONLINE=true', async () => {
    const { db, dir } = await seeded();
    const boot = await ensureMigrated({ env: { DATABASE_URL: db.url, AUTO_MIGRATE: 'true', DIGILOG_ONLINE: 'true' }, migrationsDir: dir, connectRetries: 0 });
    expect(boot.action, boot.reason).toBe('applied');
    expect(boot.migrate!.applied[0]).toMatchObject({ name: '20240102000000_change', onlineSteps: STEPS });
    await expectCompleted(db);
  });
});

describe('migrate --online after kill -9', () => {
  it.each(Array.from({ length: STEPS }, (_, i) => i + 1))('killed before step %i: status names it, migrate --online completes it', async (step) => {
    const { db, dir } = await seeded();
    await killBeforeStep(db, dir, step);
    const [row] = await db.query<{ finished: boolean; logs: string }>(`SELECT finished_at IS NOT NULL AS finished, logs FROM _prisma_migrations WHERE migration_name = '20240102000000_change'`);
    expect(row).toMatchObject({ finished: false });
    expect(row!.logs).toContain(`${step - 1} of ${STEPS} done`);
    await expectRecovers(db, dir);
  });

  it('killed inside CREATE INDEX CONCURRENTLY (an INVALID index left): the rerun drops it and builds it again', async () => {
    const { db, dir } = await seeded();
    // A writer's open transaction makes the build wait after its INVALID catalog entry exists.
    const writer = new pg.Client({ connectionString: db.url });
    writer.on('error', () => {});
    await writer.connect();
    await writer.query(`BEGIN; UPDATE "User" SET name = name WHERE id = 1`);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/digilog-db.js'), 'migrate', '--online', '--migrations-dir', dir], { env: { PATH: process.env.PATH, DATABASE_URL: db.url }, stdio: 'ignore' });
    await eventually('build waiting', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE UNIQUE INDEX CONCURRENTLY%' AND wait_event_type IS NOT NULL`)).length > 0, 20_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    // The server notices the lost client (client_connection_check_interval) and cancels the build.
    await eventually('killed backend gone', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE UNIQUE INDEX CONCURRENTLY%'`)).length === 0);
    await writer.query('COMMIT');
    await writer.end();
    expect(await db.query(`SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`)).toEqual([{ relname: 'User_email_key' }]);
    await expectRecovers(db, dir);
  });

  it('killed inside a batched UPDATE: the rerun continues after the last batch recorded, each row updated once', async () => {
    const { db, dir } = await seeded();
    // A row lock in the third batch stops it there (each lock timeout is retried).
    const locker = new pg.Client({ connectionString: db.url });
    locker.on('error', () => {});
    await locker.connect();
    await locker.query(`BEGIN; SELECT 1 FROM "Post" WHERE id = 1600 FOR UPDATE`);
    const child = spawn(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/digilog-db.js'), 'migrate', '--online', '--migrations-dir', dir], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, DIGILOG_BATCH_SIZE: '700', DIGILOG_LOCK_TIMEOUT: '300ms' },
      stdio: 'ignore',
    });
    await eventually('batch blocked', async () => (await db.query(`SELECT 1 FROM _prisma_migrations WHERE logs LIKE '%rows done%'`)).length > 0, 20_000);
    await eventually('third batch waits', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'WITH batch AS%' AND wait_event_type = 'Lock'`)).length > 0, 20_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    await locker.query('ROLLBACK');
    await locker.end();
    const [row] = await db.query<{ logs: string }>(`SELECT logs FROM _prisma_migrations WHERE migration_name = '20240102000000_change'`);
    expect(row!.logs).toContain('(batched UPDATE: 1400 rows done)');
    expect(await db.query(`SELECT count(*)::int AS n FROM "Post" WHERE views = 1`)).toEqual([{ n: 1400 }]);
    await expectRecovers(db, dir);
  });
});
