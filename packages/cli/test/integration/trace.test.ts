/**
 * `migrate --trace` on real PostgreSQL: the locks each statement's session took (pg_locks, read
 * by the backend inside the transaction or sampled from a second session), relfilenode rewrites and
 * durations, in --json and the JSON log; and the proof the online rewrites rest on: with --online no
 * lock stronger than SHARE UPDATE EXCLUSIVE is held longer than one attempt's lock_timeout, while
 * the plain apply holds SHARE for its whole transaction.
 */
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/deploy/migrate.js';
import { stronger, type LockMode } from '../../src/plan/locks.js';
import type { StatementTrace } from '../../src/apply/statement-trace.js';
import { runCli } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { testRunner } from '../support/runner.js';
import { validateJson } from '../support/golden.js';

const database = testDatabases();
const LOCK_TIMEOUT_MS = 1_000;

const CHANGE = `CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "Post" ALTER COLUMN "title" SET NOT NULL;
ALTER TABLE "Post" ADD CONSTRAINT "Post_slug_key" UNIQUE ("slug");
ALTER TABLE "User" ADD CONSTRAINT "User_name_check" CHECK (length("name") > 0);
`;

async function seeded(rows = 20_000): Promise<{ db: TestDatabase; dir: string }> {
  const db = await database('digilog_trace');
  const dir = writeMigrations({
    '20240101000000_init': 'CREATE TABLE "User" ("id" SERIAL PRIMARY KEY, "email" TEXT, "name" TEXT);\nCREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "authorId" INTEGER, "title" TEXT, "slug" TEXT, "views" INTEGER NOT NULL DEFAULT 0);\n',
  });
  await migrate(testRunner(db.url, dir));
  await db.query(`INSERT INTO "User" (email, name) SELECT 'u' || g || '@x.io', 'n' || g FROM generate_series(1, ${rows}) g;
    INSERT INTO "Post" ("authorId", title, slug) SELECT g, 't' || g, 's' || g FROM generate_series(1, ${rows}) g`);
  addMigration(dir, '20240102000000_change', CHANGE);
  return { db, dir };
}

const locksOf = (traces: StatementTrace[]) => traces.flatMap((t) => t.locks.map((l) => ({ ...l, statement: t.statement, sql: t.sql })));

describe('migrate --trace', () => {
  it('records per statement the locks, a rewrite (relfilenode) and the duration: in --json and in the JSON log', async () => {
    const { db, dir } = await seeded(2_000);
    addMigration(dir, '20240103000000_retype', 'ALTER TABLE "Post" ALTER COLUMN "views" TYPE BIGINT;\nALTER TABLE "Post" ADD COLUMN "note" TEXT;\n');
    const run = await runCli(['migrate', '--trace', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect(validateJson('migrate', JSON.parse(run.stdout))).toEqual([]);
    const [change, retype] = JSON.parse(run.stdout).applied as Array<{ trace: StatementTrace[] }>;
    expect(change!.trace.map((t) => t.statement)).toEqual([1, 2, 3, 4, 5]);
    expect(change!.trace[0]).toMatchObject({ observedBy: 'backend', sql: 'CREATE UNIQUE INDEX "User_email_key" ON "User"("email")', rewritten: [] });
    expect(change!.trace[0]!.locks).toContainEqual(expect.objectContaining({ relation: '"User"', mode: 'ShareLock' }));
    expect(change!.trace[1]!.locks).toEqual(expect.arrayContaining([expect.objectContaining({ relation: '"Post"', mode: 'ShareRowExclusiveLock' }), expect.objectContaining({ relation: '"User"', mode: 'ShareRowExclusiveLock' })]));
    // A type change rewrites the table (new relfilenode); adding a nullable column does not.
    expect(retype!.trace[0]!.rewritten).toContain('"Post"');
    expect(retype!.trace[0]!.locks).toContainEqual(expect.objectContaining({ relation: '"Post"', mode: 'AccessExclusiveLock' }));
    expect(retype!.trace[1]!.rewritten).toEqual([]);
    for (const t of [...change!.trace, ...retype!.trace]) expect(t.durationMs).toBeGreaterThanOrEqual(0);

    const { db: other, dir: otherDir } = await seeded(500);
    const logged = await runCli(['migrate', '--trace', '--migrations-dir', otherDir], { DATABASE_URL: other.url, LOG_FORMAT: 'json' });
    expect(logged.code).toBe(0);
    const lines = logged.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.event === 'migration.trace');
    expect(lines.map((l) => l.statement)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toMatchObject({ migration: '20240102000000_change', observedBy: 'backend', locks: expect.arrayContaining([expect.objectContaining({ mode: 'ShareLock' })]) });
    addMigration(dir, '20240104000000_more', 'CREATE INDEX "Post_title_idx" ON "Post"("title");\n');
    const human = await runCli(['migrate', '--trace', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/trace 20240104000000_more #1 CREATE INDEX "Post_title_idx" ON "Post"\("title"\) \d+ ms: .*SHARE on "Post" \(held \d+ ms\)/);
  });

  it('with --online no lock stronger than SHARE UPDATE EXCLUSIVE is held longer than one lock_timeout; the plain apply holds SHARE for its whole transaction', async () => {
    // Big enough that each concurrent index build lasts many sampling intervals.
    const online = await seeded(100_000);
    const plain = await seeded(100_000);
    const traced = await migrate({ ...testRunner(online.db.url, online.dir, { online: true, lockTimeoutMs: LOCK_TIMEOUT_MS, lockRetryBudgetMs: 30_000 }), trace: true });
    const onlineLocks = locksOf(traced.applied[0]!.trace!);
    const strong = onlineLocks.filter((l) => stronger(l.mode as LockMode, 'ShareUpdateExclusiveLock'));
    // The assertion below is about real locks: the NOT VALID, USING INDEX and SET NOT NULL steps take them.
    expect(strong.length).toBeGreaterThanOrEqual(4);
    for (const lock of strong) expect(lock.heldMs, `${lock.mode} on ${lock.relation} by ${lock.sql}`).toBeLessThan(LOCK_TIMEOUT_MS);
    // The index builds ran concurrently, watched by sampling: SHARE UPDATE EXCLUSIVE, never SHARE.
    const builds = traced.applied[0]!.trace!.filter((t) => t.sql.includes('CONCURRENTLY'));
    expect(builds.map((t) => t.observedBy)).toEqual(['sampling', 'sampling']);
    for (const build of builds) {
      expect(build.locks).toContainEqual(expect.objectContaining({ mode: 'ShareUpdateExclusiveLock' }));
      expect(build.locks.map((l) => l.mode)).not.toContain('ShareLock');
    }

    const as = await migrate({ ...testRunner(plain.db.url, plain.dir, { lockTimeoutMs: LOCK_TIMEOUT_MS }), trace: true });
    const share = locksOf(as.applied[0]!.trace!).find((l) => l.relation === '"User"' && l.mode === 'ShareLock')!;
    // Taken by the first statement and held until the file's transaction committed: the whole migration.
    expect(share.statement).toBe(1);
    expect(share.heldMs).toBeGreaterThanOrEqual(Math.floor(as.applied[0]!.trace!.reduce((sum, t) => sum + t.durationMs, 0) * 0.9));
  });

  it('with --online a batched UPDATE is traced as its statement: batches, rows, the longest batch, and only ROW EXCLUSIVE (or weaker) on its table', async () => {
    const { db, dir } = await seeded(5_000);
    addMigration(dir, '20240103000000_backfill', 'UPDATE "Post" SET "views" = "views" + 1;\n');
    const run = await runCli(['migrate', '--online', '--trace', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url, DIGILOG_BATCH_SIZE: '1000', DIGILOG_BATCH_PAUSE: '0' });
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(validateJson('migrate', document)).toEqual([]);
    const backfill = (document.applied as Array<{ name: string; trace: StatementTrace[] }>).find((a) => a.name === '20240103000000_backfill')!;
    expect(backfill.trace).toHaveLength(1);
    const [update] = backfill.trace;
    expect(update).toMatchObject({ statement: 1, observedBy: 'backend', sql: expect.stringContaining('UPDATE') });
    // 5 full batches, then the one that finds no row left.
    expect(update!.batches).toMatchObject({ rows: 5_000, count: 6 });
    expect(update!.batches!.longestMs).toBeLessThanOrEqual(update!.durationMs);
    expect(update!.locks).toContainEqual(expect.objectContaining({ relation: '"Post"', mode: 'RowExclusiveLock' }));
    for (const lock of update!.locks) expect(stronger(lock.mode as LockMode, 'RowExclusiveLock'), `${lock.mode} on ${lock.relation}`).toBe(false);
    expect(await db.query('SELECT count(*)::int AS n FROM "Post" WHERE "views" = 1')).toEqual([{ n: 5_000 }]);
  });
});
