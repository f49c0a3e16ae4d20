/**
 * Waiting for the migration lock (TEST-MATRIX rows 2–4): waiters that give up on time name
 * the holder and write nothing; a CREATE INDEX CONCURRENTLY holder is not deadlocked by its
 * waiters; a frozen holder (SIGSTOP, TCP still open) is visible in `status` and the next run
 * proceeds once its backend is terminated.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PRISMA_ADVISORY_LOCK_KEY } from '../../src/db/lock.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, runTogether, startCli, type StartedCli } from '../support/cli.js';
import { countLostOrDoubled, eventually, migrationLockRows, runnerBackends } from '../support/counting.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();
const WAITERS = 15;

// Every process a test starts is killed afterwards, even when an assertion failed.
const started: StartedCli[] = [];
afterEach(() => {
  for (const s of started.splice(0)) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    s.child.kill('SIGCONT');
    s.child.kill('SIGKILL');
  }
});

function startHolder(db: TestDatabase, dir: string): StartedCli {
  const holder = startCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
  started.push(holder);
  return holder;
}

/** Waits until the holder's session runs `fragment` and returns that backend's pid (which holds the lock). */
async function holderBackend(db: TestDatabase, fragment: string): Promise<number> {
  let pid = 0;
  await eventually(`holder running ${fragment}`, async () => {
    const rows = await db.query<{ pid: number }>(
      `SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.objid = ${PRISMA_ADVISORY_LOCK_KEY} AND l.granted
        WHERE a.datname = current_database() AND a.query LIKE '%${fragment}%' AND a.pid <> pg_backend_pid()`,
    );
    pid = rows[0]?.pid ?? 0;
    return pid > 0;
  });
  return pid;
}

describe('[rows 2–4] waiting for the migration lock', () => {
  it('[row 2] 15 waiters with a lock-wait limit exit 5 naming the lock and the holder; they write nothing and leave no backend', async () => {
    const db = await newDatabase('digilog_waiters');
    const names = ['20240101000000_long', '20240101000001_after'];
    // The long migration waits on a gate the test holds until the waiters are done, not on a fixed
    // sleep: on a loaded machine starting 15 runners can take longer than any sleep that fits here.
    const gate = new pg.Client({ connectionString: db.url, application_name: 'test-gate' });
    await gate.connect();
    await gate.query('SELECT pg_advisory_lock(4242)');
    const dir = writeMigrations({ [names[0]!]: '-- digilog:lock-timeout 0\nCREATE TABLE long_one (id int);\nSELECT pg_advisory_xact_lock(4242);\n', [names[1]!]: 'CREATE TABLE after_long (id int);\n' });
    const holder = startHolder(db, dir);
    const holderPid = await holderBackend(db, 'pg_advisory_xact_lock(4242)');

    const { runs } = await runTogether(WAITERS, ['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url, DIGILOG_LOCK_WAIT_MS: '1500' });
    expect(runs.map((r) => r.code)).toEqual(Array(WAITERS).fill(EXIT_CODES['lock-timeout']));
    for (const run of runs) {
      expect(run.stderr).toContain(`advisory lock ${PRISMA_ADVISORY_LOCK_KEY}`);
      expect(run.stderr).toContain(`process ${holderPid} (digilog-db pid=${holder.child.pid}`);
    }
    // The waiters are gone from the server: no backend, no queued lock request; only the holder remains.
    expect((await runnerBackends(db.query)).map((b) => b.pid)).toEqual([holderPid]);
    expect(await migrationLockRows(db.query)).toEqual([{ pid: holderPid, granted: true }]);
    expect(holder.child.exitCode).toBeNull();

    await gate.end();
    const holderRun = await holder.done;
    expect(holderRun.code).toBe(0);
    expect(JSON.parse(holderRun.stdout).applied.map((a: { name: string }) => a.name)).toEqual(names);
    // Every row is the holder's: one per migration, none from a waiter.
    const lostOrDoubled = await countLostOrDoubled(db.query, names);
    expect(lostOrDoubled).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM _prisma_migrations`)).toEqual([{ n: names.length }]);
    expect(await migrationLockRows(db.query)).toEqual([]);
    recordReliability({
      row: 2,
      scenario: 'a long migration holds the lock while 15 runners wait with a 1.5 s limit',
      fault: `${WAITERS} waiters against a migration held until they are done`,
      result: `${WAITERS} exit ${EXIT_CODES['lock-timeout']} naming lock ${PRISMA_ADVISORY_LOCK_KEY} and holder pid/application_name; no rows or backends left by them`,
      runners: WAITERS + 1,
      lostOrDoubled,
    });
  }, 60_000);

  it('[row 3] CREATE INDEX CONCURRENTLY while 15 runners wait: no deadlock, index valid, everyone exits 0', async () => {
    const db = await newDatabase('digilog_cic_waiters');
    const names = ['20240101000000_table', '20240101000001_cic'];
    const dir = writeMigrations({
      [names[0]!]: `CREATE TABLE big (id int, v text);\nINSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 200000) g;\nSELECT pg_sleep(2);\n`,
      [names[1]!]: 'CREATE INDEX CONCURRENTLY big_v ON big (v);\n',
    });
    const holder = startHolder(db, dir);
    await holderBackend(db, 'pg_sleep(2)');
    const waiting = runTogether(WAITERS, ['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url, DIGILOG_LOCK_WAIT_MS: '30000' });
    const holderRun = await holder.done;
    const { runs } = await waiting;
    expect(holderRun.code).toBe(0);
    expect(JSON.parse(holderRun.stdout).applied).toMatchObject([{ name: names[0], mode: 'transactional' }, { name: names[1], mode: 'as-written' }]);
    expect(runs.map((r) => r.code)).toEqual(Array(WAITERS).fill(0));
    expect(runs.map((r) => JSON.parse(r.stdout).action)).toEqual(Array(WAITERS).fill('up-to-date'));
    // The waiters really overlapped the index build: each saw the lock busy before it was free.
    expect(runs.every((r) => JSON.parse(r.stdout).lockWaitMs > 10)).toBe(true);
    expect(await db.query(`SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'big_v'::regclass`)).toEqual([{ indisvalid: true, indisready: true }]);
    const lostOrDoubled = await countLostOrDoubled(db.query, names);
    expect(lostOrDoubled).toBe(0);
    expect(await migrationLockRows(db.query)).toEqual([]);
    recordReliability({
      row: 3,
      scenario: 'CREATE INDEX CONCURRENTLY (non-transactional) while 15 runners wait for the lock',
      fault: `${WAITERS} waiters polling during the index build`,
      result: 'no deadlock, index valid, all 16 exit 0 (1 applied, 15 up to date)',
      runners: WAITERS + 1,
      lostOrDoubled,
    });
  }, 60_000);

  it('[row 4] holder frozen by SIGSTOP: others time out naming it, status shows it, pg_terminate_backend lets the next run proceed', async () => {
    const db = await newDatabase('digilog_sigstop');
    const names = ['20240101000000_first', '20240101000001_second'];
    const holderDir = writeMigrations({ [names[0]!]: 'CREATE TABLE first_one (id int);\nSELECT pg_sleep(0.5);\n' });
    // The next release (as in a rolling deploy) carries one more migration.
    const nextDir = writeMigrations({ [names[0]!]: 'CREATE TABLE first_one (id int);\nSELECT pg_sleep(0.5);\n', [names[1]!]: 'CREATE TABLE second_one (id int);\n' });
    const holder = startHolder(db, holderDir);
    const holderPid = await holderBackend(db, 'pg_sleep(0.5)');
    holder.child.kill('SIGSTOP');
    const env = { DATABASE_URL: db.url, DIGILOG_LOCK_WAIT_MS: '1000' };
    const waiters = await Promise.all([1, 2, 3].map(() => runCli(['migrate', '--migrations-dir', nextDir], env)));
    for (const run of waiters) {
      expect(run.code).toBe(EXIT_CODES['lock-timeout']);
      expect(run.stderr).toContain(`process ${holderPid} (digilog-db pid=${holder.child.pid}`);
      expect(run.stderr).toContain(`pg_terminate_backend(${holderPid})`);
    }
    const status = await runCli(['status', '--json', '--migrations-dir', nextDir], env);
    expect(JSON.parse(status.stdout).lockHolder).toMatchObject({ pid: holderPid, applicationName: `digilog-db pid=${holder.child.pid}` });
    const human = await runCli(['status', '--migrations-dir', nextDir], env);
    expect(human.stdout).toContain(`migration lock held by process ${holderPid} (digilog-db pid=${holder.child.pid}`);

    await db.query(`SELECT pg_terminate_backend(${holderPid})`);
    await eventually('lock freed', async () => (await migrationLockRows(db.query)).length === 0);
    const next = await runCli(['migrate', '--json', '--migrations-dir', nextDir], env);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).applied.map((a: { name: string }) => a.name)).toEqual([names[1]]);
    const lostOrDoubled = await countLostOrDoubled(db.query, names);
    expect(lostOrDoubled).toBe(0);
    holder.child.kill('SIGCONT');
    holder.child.kill('SIGKILL');
    await holder.done;
    recordReliability({
      row: 4,
      scenario: 'lock holder frozen with SIGSTOP (TCP stays open)',
      fault: 'SIGSTOP of the holder; 3 runners with a 1 s limit; pg_terminate_backend',
      result: '3 exit 5 naming the holder; status shows pid and application_name; after terminate the next run applied the rest',
      runners: 5,
      faults: 1,
      lostOrDoubled,
    });
  }, 60_000);
});
