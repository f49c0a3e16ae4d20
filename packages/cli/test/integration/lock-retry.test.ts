/**
 * Safe lock acquisition on real PostgreSQL, with a real blocking session and
 * real application traffic: the blockers are named (pid, application_name,
 * state, transaction age, query start), a lock timeout is retried with
 * backoff (a transactional migration whole, a statement-by-statement one from
 * the statement that timed out), writers are held for at most one attempt,
 * the _prisma_migrations row stays what Prisma writes, and a budget that runs
 * out ends in the usual recorded, recoverable failure naming the blocker.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { migrate, type MigrateEvent } from '../../src/deploy/migrate.js';
import { findBlockers } from '../../src/online/blockers.js';
import { lockRetryFor, retryScope } from '../../src/online/lock-retry.js';
import { backoffMs, serverLockTimeoutMs } from '../../src/online/attempt-timing.js';
import { conflictingModes, lockNeedsOf, whatItBlocks } from '../../src/plan/locks.js';
import { parseStatements } from '../../src/plan/execution-mode.js';
import { applyStep, recordStart } from '../../src/apply/apply-step.js';
import { planSteps, plannedStatement } from '../../src/plan/plan.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { MigrationHistory } from '../../src/db/history.js';
import { DigilogError } from '../../src/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { runCli } from '../support/cli.js';
import { passwordRole, testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { testRunner } from '../support/runner.js';
import { validateJson } from '../support/golden.js';

const database = testDatabases();
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function withAccounts(rows = 200): Promise<{ db: TestDatabase; dir: string }> {
  const db = await database('digilog_lockretry');
  const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\nCREATE TABLE audit (n int);\n' });
  await migrate(testRunner(db.url, dir));
  await db.query(`INSERT INTO accounts SELECT g, 'u' || g || '@digilog.io' FROM generate_series(1, ${rows}) g`);
  return { db, dir };
}

/** A session that holds a lock on accounts inside an open transaction, as an application would. */
async function blocker(db: TestDatabase, sql = 'SELECT * FROM accounts WHERE id = 1 FOR UPDATE', applicationName = 'billing-worker'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql);
  return client;
}

/** Application traffic: one writer updating rows in a loop; records the slowest write. */
function writer(db: TestDatabase): { stop: () => Promise<{ writes: number; errors: number; maxMs: number }> } {
  const client = new pg.Client({ connectionString: db.url, application_name: 'app-writer' });
  let running = true;
  let writes = 0;
  let errors = 0;
  let maxMs = 0;
  const loop = (async () => {
    await client.connect();
    for (let i = 0; running; i++) {
      const started = performance.now();
      await client.query(`UPDATE accounts SET email = email WHERE id = ${2 + (i % 100)}`).then(() => writes++, () => errors++);
      maxMs = Math.max(maxMs, performance.now() - started);
      await new Promise((r) => setTimeout(r, 5));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { writes, errors, maxMs };
    },
  };
}

async function rowsOf(db: TestDatabase, name: string) {
  return db.query<{ id: string; checksum: string; finished: boolean; logs: string | null; rolled_back_at: Date | null; applied_steps_count: number }>(
    `SELECT id, checksum, finished_at IS NOT NULL AS finished, logs, rolled_back_at, applied_steps_count FROM _prisma_migrations WHERE migration_name = '${name}'`,
  );
}

describe('lock needs (pure)', () => {
  it('knows the lock each statement Prisma generates requests, and what it blocks', async () => {
    const needs = async (sql: string) => lockNeedsOf((await parseStatements(sql))[0]!);
    expect(await needs('CREATE INDEX "a_b_idx" ON "a"("b")')).toEqual([{ schema: undefined, name: 'a', mode: 'ShareLock' }]);
    expect(await needs('CREATE INDEX CONCURRENTLY "a_b_idx" ON s."a"("b")')).toEqual([{ schema: 's', name: 'a', mode: 'ShareUpdateExclusiveLock' }]);
    expect(await needs('ALTER TABLE "p" ADD CONSTRAINT "p_u_fkey" FOREIGN KEY ("u") REFERENCES "u"("id")')).toEqual([
      { schema: undefined, name: 'p', mode: 'ShareRowExclusiveLock' },
      { schema: undefined, name: 'u', mode: 'ShareRowExclusiveLock' },
    ]);
    expect(await needs('ALTER TABLE "a" ALTER COLUMN "b" SET NOT NULL, ALTER COLUMN "c" SET STATISTICS 100')).toEqual([{ schema: undefined, name: 'a', mode: 'AccessExclusiveLock' }]);
    expect(await needs('ALTER TABLE "a" VALIDATE CONSTRAINT "c"')).toEqual([{ schema: undefined, name: 'a', mode: 'ShareUpdateExclusiveLock' }]);
    expect(await needs('CREATE TABLE "p" ("id" int, "u" int REFERENCES "u"("id"))')).toEqual([{ schema: undefined, name: 'u', mode: 'ShareRowExclusiveLock' }]);
    expect(await needs('UPDATE "a" SET "b" = 1 WHERE "b" IS NULL')).toEqual([{ schema: undefined, name: 'a', mode: 'RowExclusiveLock' }]);
    expect(await needs('DROP INDEX "x", "y"')).toEqual([
      { schema: undefined, name: 'x', mode: 'AccessExclusiveLock' },
      { schema: undefined, name: 'y', mode: 'AccessExclusiveLock' },
    ]);
    expect(await needs('CREATE TYPE "Mood" AS ENUM (\'ok\')')).toEqual([]);
    expect(whatItBlocks('AccessExclusiveLock')).toBe('reads and writes');
    expect(whatItBlocks('ShareLock')).toBe('writes');
    expect(whatItBlocks('ShareUpdateExclusiveLock')).toBe('nothing');
    expect(conflictingModes('RowExclusiveLock')).toEqual(['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']);
  });

  it('retries what left nothing behind: a transactional file whole, a split one by statement, a one-block or one-statement as-written file whole, nothing else', async () => {
    const step = async (mode: 'transactional' | 'as-written' | 'statement-by-statement', sql: string) => retryScope({ name: 'm', mode, statements: (await parseStatements(sql)).map(plannedStatement) });
    expect(await step('transactional', 'ALTER TABLE a ADD COLUMN b int; ALTER TABLE a ADD COLUMN c int')).toBe('whole');
    expect(await step('statement-by-statement', 'ALTER TABLE a ADD COLUMN b int; CREATE INDEX CONCURRENTLY i ON a (b)')).toBe('statement');
    expect(await step('as-written', 'CREATE INDEX CONCURRENTLY i ON a (b)')).toBe('whole');
    expect(await step('as-written', 'BEGIN; ALTER TABLE a ADD COLUMN b int; ALTER TABLE a ADD COLUMN c int; COMMIT;')).toBe('whole');
    expect(await step('as-written', 'BEGIN; ALTER TABLE a ADD COLUMN b int; COMMIT; BEGIN; ALTER TABLE a ADD COLUMN c int; COMMIT;')).toBe('none');
    // Jittered within the upper half of an exponential ceiling, capped at 5 s.
    // Environment: a short attempt by default, a minute of retries; a bad value names the variable.
    expect(loadConfig({})).toMatchObject({ lockTimeoutMs: 1_000, lockRetryBudgetMs: 60_000 });
    expect(loadConfig({ DIGILOG_LOCK_RETRY_BUDGET: '5min', DIGILOG_LOCK_TIMEOUT: '250ms' })).toMatchObject({ lockTimeoutMs: 250, lockRetryBudgetMs: 300_000 });
    expect(() => loadConfig({ DIGILOG_LOCK_RETRY_BUDGET: 'a while' })).toThrow(/^DIGILOG_LOCK_RETRY_BUDGET must be a duration/);
    expect([backoffMs(1, () => 0), backoffMs(1, () => 1), backoffMs(4, () => 1), backoffMs(20, () => 0)]).toEqual([100, 200, 1600, 2500]);
    // The server's lock_timeout sits a margin below the attempt, so queued queries stall no longer than the setting.
    expect([0, 10, 100, 200, 1_000, 5_000, 60_000].map(serverLockTimeoutMs)).toEqual([0, 5, 75, 170, 900, 4_900, 59_900]);
  });

  it('the session runs with the server lock_timeout a margin below the attempt (a file lock-timeout directive too)', async () => {
    const { db, dir } = await withAccounts(1);
    // Each also takes a lock that stops traffic (ACCESS EXCLUSIVE), so it gets short attempts, not one as long as the budget.
    addMigration(dir, '20240102000000_seen', 'ALTER TABLE accounts ADD COLUMN a int;\nCREATE TABLE seen AS SELECT current_setting(\'lock_timeout\') AS v;\n');
    addMigration(dir, '20240103000000_own', '-- digilog:lock-timeout 2s\nALTER TABLE accounts ADD COLUMN b int;\nINSERT INTO seen SELECT current_setting(\'lock_timeout\');\n');
    await migrate(testRunner(db.url, dir, { lockTimeoutMs: 200, lockRetryBudgetMs: 5_000 }));
    expect(await db.query('SELECT v FROM seen')).toEqual([{ v: '170ms' }, { v: '1900ms' }]);
  });
});

describe('finding the blockers (real sessions)', () => {
  it('names the session holding a conflicting lock, the one queued ahead and what it waits behind, and idle-in-transaction sessions', async () => {
    const { db } = await withAccounts(5);
    const holder = await blocker(db, 'SELECT * FROM accounts WHERE id = 1 FOR UPDATE');
    const idle = await blocker(db, 'SELECT 1', 'report-job');
    const observer = new pg.Client({ connectionString: db.url });
    await observer.connect();
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const idlePid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      await new Promise((r) => setTimeout(r, 50));
      const forAlter = await findBlockers(observer, [{ schema: undefined, name: 'accounts', mode: 'AccessExclusiveLock' }], { schema: 'public', longRunningMs: 60_000 });
      expect(forAlter.find((b) => b.pid === holderPid)).toMatchObject({
        applicationName: 'billing-worker',
        state: 'idle in transaction',
        reason: 'holds-conflicting-lock',
        relation: 'accounts',
        mode: 'RowShareLock',
      });
      const named = forAlter.find((b) => b.pid === holderPid)!;
      expect(named.xactAgeMs).toBeGreaterThanOrEqual(40);
      expect(Date.parse(named.queryStart!)).toBeLessThanOrEqual(Date.now());
      expect(forAlter.find((b) => b.pid === idlePid)).toMatchObject({ applicationName: 'report-job', reason: 'idle-in-transaction' });
      // A RowShare lock does not stop a write; but an ALTER queued behind it does, and so does what it waits for.
      const alter = new pg.Client({ connectionString: db.url, application_name: 'other-migration' });
      await alter.connect();
      const queued = alter.query('ALTER TABLE accounts ADD COLUMN x int').catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      const forWrite = await findBlockers(observer, [{ schema: undefined, name: 'accounts', mode: 'RowExclusiveLock' }], { schema: 'public', longRunningMs: 60_000 });
      expect(forWrite.find((b) => b.applicationName === 'other-migration')).toMatchObject({ reason: 'queued-ahead', mode: 'AccessExclusiveLock' });
      expect(forWrite.find((b) => b.pid === holderPid)).toMatchObject({ reason: 'blocks-a-waiter' });
      await holder.query('ROLLBACK');
      await queued;
      await alter.end();
      // Relations that do not exist yet have no blocker.
      const pids = async (name: string) => (await findBlockers(observer, [{ schema: undefined, name, mode: 'AccessExclusiveLock' }], { schema: 'public', longRunningMs: 60_000 })).map((b) => `${b.pid} ${b.reason}`);
      expect(await pids('not_yet')).toEqual([`${idlePid} idle-in-transaction`]);
    } finally {
      await holder.end();
      await idle.end();
      await observer.end();
    }
  });
});

describe('retrying a lock timeout', () => {
  it('a transactional migration waits out a blocker that ends after two attempts; writers wait at most one attempt; one row, as Prisma writes it', async () => {
    const { db, dir } = await withAccounts();
    const name = '20240102000000_add_note';
    const sql = 'INSERT INTO audit VALUES (1);\nALTER TABLE accounts ADD COLUMN note text;\n';
    addMigration(dir, name, sql);
    const holder = await blocker(db);
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const traffic = writer(db);
    const events: MigrateEvent[] = [];
    const result = await migrate({
      ...testRunner(db.url, dir, { lockTimeoutMs: 1_000, lockRetryBudgetMs: 30_000 }),
      onEvent(event) {
        events.push(event);
        if (event.type === 'lock-retry' && event.attempt === 2) void holder.query('COMMIT');
      },
    });
    const app = await traffic.stop();
    await holder.end();
    const retries = events.filter((e) => e.type === 'lock-retry');
    expect(retries.map((e) => e.attempt)).toEqual([1, 2]);
    expect(events.find((e) => e.type === 'lock-blockers')).toMatchObject({ migration: name, statement: undefined, blockers: [expect.objectContaining({ pid: holderPid, applicationName: 'billing-worker', reason: 'holds-conflicting-lock' })] });
    for (const retry of retries) expect(retry.blockers.map((b) => b.pid)).toContain(holderPid);
    expect(result.applied[0]).toMatchObject({ name, lockRetries: 2 });
    expect(result.applied[0]!.lockRetryWaitMs).toBeGreaterThanOrEqual(2_000);
    // The ALTER's lock request held writers for at most one attempt (1 s lock_timeout), never for the whole wait.
    expect(app.errors).toBe(0);
    expect(app.writes).toBeGreaterThan(20);
    expect(app.maxMs).toBeLessThan(1_600);
    // Retried whole: the INSERT of the attempts that timed out was rolled back with them.
    expect(await db.query('SELECT count(*)::int AS n FROM audit')).toEqual([{ n: 1 }]);
    const rows = await rowsOf(db, name);
    expect(rows).toEqual([{ id: expect.any(String), checksum: sha256(sql), finished: true, logs: null, rolled_back_at: null, applied_steps_count: 1 }]);
  });

  it('a statement-by-statement migration resumes at the statement that timed out (the ones before ran once)', async () => {
    const { db, dir } = await withAccounts();
    const name = '20240102000000_split';
    addMigration(dir, name, '-- digilog:no-transaction\nINSERT INTO audit VALUES (1);\nALTER TABLE accounts ADD COLUMN note text;\nINSERT INTO audit VALUES (3);\n');
    const holder = await blocker(db);
    const events: MigrateEvent[] = [];
    const result = await migrate({
      ...testRunner(db.url, dir, { lockTimeoutMs: 500, lockRetryBudgetMs: 30_000 }),
      onEvent(event) {
        events.push(event);
        if (event.type === 'lock-retry') void holder.query('COMMIT');
      },
    });
    await holder.end();
    expect(events.filter((e) => e.type === 'lock-retry').map((e) => (e as { statement?: number }).statement)).toEqual([2]);
    expect(result.applied[0]).toMatchObject({ name, mode: 'statement-by-statement', lockRetries: 1 });
    expect(await db.query('SELECT n FROM audit ORDER BY n')).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await rowsOf(db, name)).toEqual([expect.objectContaining({ finished: true, logs: null, applied_steps_count: 1 })]);
  });

  it('while it pauses between attempts no row says it failed; a SIGTERM then stops it cleanly, nothing applied', async () => {
    const { db, dir } = await withAccounts(5);
    const sql = 'ALTER TABLE accounts ADD COLUMN note text;\n';
    addMigration(dir, '20240102000000_add_note', sql);
    const holder = await blocker(db);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const history = new MigrationHistory(client, 'public');
      await history.create();
      await client.query(`SET lock_timeout = '300ms'`);
      const migration = readMigrations(dir).find((m) => m.name === '20240102000000_add_note')!;
      const { steps } = await planSteps([migration], { largeTableRows: 100_000, limits: { lockTimeoutMs: 300, statementTimeoutMs: 0, budgetMs: 0 } });
      const started = await recordStart(client, history, steps[0]!);
      const stop = new AbortController();
      let rowsDuringPause: number | undefined;
      const retry = lockRetryFor(
        { name: migration.name, mode: 'transactional', statements: steps[0]!.statements },
        {
          history, started, schema: 'public', emit: () => {}, signal: stop.signal,
          policy: { attemptTimeoutMs: 300, budgetMs: 30_000 },
          sleep: async () => {
            rowsDuringPause = (await db.query(`SELECT 1 FROM _prisma_migrations WHERE migration_name = '${migration.name}'`)).length;
            stop.abort();
          },
        },
      );
      const error = await applyStep(client, history, started, undefined, {}, retry.execute).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(DigilogError);
      expect((error as DigilogError).kind).toBe('interrupted');
      expect(rowsDuringPause).toBe(0);
      expect(await db.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = '${migration.name}'`)).toEqual([{ n: 0 }]);
      expect(await db.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`)).toEqual([{ n: 0 }]);
    } finally {
      await holder.end();
      await client.end();
    }
  });

  it('when the budget runs out: exit 6, a recorded failure naming the blocker and the command to see it again, recoverable; no password anywhere', async () => {
    const { db, dir } = await withAccounts(5);
    const role = passwordRole('digilog_lockretry_owner', 'Bl0ck-Secret!pw');
    await role.create();
    const url = await role.own(db);
    await db.query('ALTER TABLE accounts OWNER TO digilog_lockretry_owner; ALTER TABLE audit OWNER TO digilog_lockretry_owner; ALTER TABLE _prisma_migrations OWNER TO digilog_lockretry_owner');
    const name = '20240102000000_add_note';
    addMigration(dir, name, 'ALTER TABLE accounts ADD COLUMN note text;\n');
    // The blocker runs as the same role (so its state is visible) and carries the password in its own URL.
    const holder = new pg.Client({ connectionString: url, application_name: 'billing-worker' });
    holder.on('error', () => {});
    await holder.connect();
    await holder.query('BEGIN; SELECT * FROM accounts WHERE id = 1 FOR UPDATE');
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      const env = { DATABASE_URL: url, DIGILOG_LOCK_TIMEOUT: '300ms', DIGILOG_LOCK_RETRY_BUDGET: '1500ms' };
      const run = await runCli(['migrate', '--json', '--migrations-dir', dir], env);
      expect(run.code, run.stdout + run.stderr).toBe(EXIT_CODES['migration-sql']);
      expect(validateJson('migrate', JSON.parse(run.stdout))).toEqual([]);
      const { error } = JSON.parse(run.stdout);
      expect(error.prismaCode).toBe('P3018');
      expect(error.details.lockRetry.attempts).toBeGreaterThanOrEqual(3);
      expect(error.details.lockRetry.blockers).toEqual([expect.objectContaining({ pid: holderPid, applicationName: 'billing-worker', state: 'idle in transaction', reason: 'holds-conflicting-lock' })]);
      expect(error.hint).toContain(`pid ${holderPid} (billing-worker), idle in transaction`);
      expect(error.hint).toContain('See them again: psql "$DATABASE_URL" -c');
      expect(error.hint).toContain(`resolve --rolled-back "${name}"`);
      const [row] = await rowsOf(db, name);
      expect(row).toMatchObject({ finished: false });
      expect(row!.logs).toContain('55P03');
      expect(row!.logs).toContain(`blocked by pid ${holderPid} (billing-worker)`);
      // The psql command of the hint really lists the blocker.
      const command = /psql "\$DATABASE_URL" -c "(.*)"$/m.exec(error.hint)![1]!.replace(/\\(.)/g, '$1');
      const listed = await db.query<{ pid: number }>(command);
      expect(listed.map((r) => r.pid)).toContain(holderPid);
      const pretty = await runCli(['status', '--migrations-dir', dir], env);
      for (const output of [run.stdout, run.stderr, pretty.stdout, pretty.stderr]) {
        expect(output).not.toContain(role.password);
        expect(output).not.toContain(encodeURIComponent(role.password));
      }
      // Recoverable as before: resolve, the blocker ends, migrate.
      await holder.query('COMMIT');
      expect((await runCli(['resolve', '--rolled-back', name, '--migrations-dir', dir], env)).code).toBe(0);
      const logged = await runCli(['migrate', '--migrations-dir', dir], { ...env, LOG_FORMAT: 'json' });
      expect(logged.code).toBe(0);
    } finally {
      await holder.end();
      await db.drop();
      await role.drop();
    }
  });

  it('each retry is a JSON log line, and a line of the human output naming the blocker', async () => {
    const { db, dir } = await withAccounts(5);
    addMigration(dir, '20240102000000_add_note', 'ALTER TABLE accounts ADD COLUMN note text;\n');
    const env = { DATABASE_URL: db.url, DIGILOG_LOCK_TIMEOUT: '400ms' };
    let holder = await blocker(db);
    let holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    setTimeout(() => void holder.query('COMMIT'), 1_500);
    const logged = await runCli(['migrate', '--migrations-dir', dir], { ...env, LOG_FORMAT: 'json' });
    await holder.end();
    expect(logged.code).toBe(0);
    const lines = logged.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const retries = lines.filter((l) => l.event === 'migration.lock_retry');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ level: 'warn', migration: '20240102000000_add_note', attempt: 1, lockTimeoutMs: 400, blockers: [expect.objectContaining({ pid: holderPid })] });
    expect(lines.find((l) => l.event === 'migration.lock_blockers')).toMatchObject({ blockers: [expect.objectContaining({ pid: holderPid, applicationName: 'billing-worker' })] });

    addMigration(dir, '20240103000000_add_more', 'ALTER TABLE accounts ADD COLUMN more text;\n');
    holder = await blocker(db);
    holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    setTimeout(() => void holder.query('COMMIT'), 1_500);
    const human = await runCli(['migrate', '--migrations-dir', dir], env);
    await holder.end();
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('Lock timeout: 20240103000000_add_more, attempt 1 waited 400 ms; retrying in');
    expect(human.stderr).toContain(`pid ${holderPid} (billing-worker), idle in transaction`);
  });
});
