/** Prisma's advisory lock: shared session with the migration, timeout naming the holder, interop with Prisma's key. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PRISMA_ADVISORY_LOCK_KEY } from '../../src/db/lock.js';
import { EXIT_CODES } from '../../src/errors.js';
import { migrate } from '../../src/deploy/migrate.js';
import { runCli } from '../support/cli.js';
import { migrationLockRows } from '../support/counting.js';
import { testDatabases } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';
import { testRunner } from '../support/runner.js';

const newDatabase = testDatabases();

describe('migration lock', () => {
  it('[row 6] is held by the very session that runs the migration (adapter pool defect regression)', async () => {
    const db = await newDatabase('digilog_lock');
    const dir = writeMigrations({ '20240101000000_slow': 'CREATE TABLE a (id int);\nSELECT pg_sleep(1.5);\n' });
    const running = migrate(testRunner(db.url, dir));
    let observed: Array<{ lock_pid: number; work_pid: number }> = [];
    for (let i = 0; i < 30 && observed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      observed = await db.query(`SELECT l.pid AS lock_pid, a.pid AS work_pid
        FROM pg_locks l, pg_stat_activity a
        WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND a.datname = current_database()
          AND l.objid = ${PRISMA_ADVISORY_LOCK_KEY} AND l.granted AND a.query LIKE '%pg_sleep(1.5)%' AND a.pid <> pg_backend_pid()`);
    }
    await running;
    expect(observed.length).toBe(1);
    expect(observed[0]!.lock_pid).toBe(observed[0]!.work_pid);
    expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([]);
    recordReliability({
      row: 6,
      scenario: 'lock and migration statements on one session (adapter pool defect regression)',
      fault: 'pg_locks and pg_stat_activity sampled while the migration runs',
      result: `the backend holding lock ${PRISMA_ADVISORY_LOCK_KEY} is the one executing the migration; released afterwards`,
      runners: 1,
    });
  });

  it('[row 5] a stale idle session holding the lock: exit 5 naming it, nothing written, never taken over', async () => {
    const db = await newDatabase('digilog_lock_wait');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    // A session holding Prisma's key, as `prisma migrate deploy` or a stuck runner would.
    const holder = new pg.Client({ connectionString: db.url, application_name: 'prisma-migrate-deploy' });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY})`);
    const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      const status = await runCli(['status', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
      expect(JSON.parse(status.stdout).lockHolder).toMatchObject({ pid, applicationName: 'prisma-migrate-deploy' });
      const run = await runCli(['migrate', '--lock-wait', '800', '--migrations-dir', dir], { DATABASE_URL: db.url });
      expect(run.code).toBe(EXIT_CODES['lock-timeout']);
      expect(run.stderr).toContain(`process ${pid} (prisma-migrate-deploy), idle`);
      expect(run.stderr).toContain(`advisory lock ${PRISMA_ADVISORY_LOCK_KEY}`);
      expect(run.stderr).toContain('P1002');
      expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS t`)).toEqual([{ t: null }]);
      // Never taken over: the stale session still holds the lock, alone, and is still connected.
      expect(await migrationLockRows(db.query)).toEqual([{ pid, granted: true }]);
      expect((await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows).toEqual([{ pid }]);
    } finally {
      await holder.end();
    }
    // Once the holder is gone, the next run proceeds.
    const after = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(after.code).toBe(0);
    recordReliability({
      row: 5,
      scenario: 'a stale idle session holds lock key 72707369',
      fault: 'idle session holding the advisory lock; runner with an 800 ms limit',
      result: 'exit 5 naming the idle holder (pid, application_name, state); lock not taken over; next run after it ended applied',
      runners: 1,
      faults: 1,
    });
  });
});
