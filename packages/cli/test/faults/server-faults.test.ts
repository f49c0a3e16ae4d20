/**
 * Faults of the database server itself, on a private PostgreSQL cluster the test owns
 * (TEST-MATRIX rows 9 and 11): an immediate restart mid-run, and a full disk.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli } from '../support/cli.js';
import { startCluster } from '../support/cluster.js';
import { adminQuery } from '../support/database.js';
import { countLostOrDoubled, eventually, migrationLockRows } from '../support/counting.js';
import { writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
let smallDisk: string | undefined;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);

afterAll(() => {
  try {
    cluster?.destroyAll();
  } finally {
    if (smallDisk) {
      execFileSync('umount', [smallDisk], { stdio: 'ignore' });
      rmSync(smallDisk, { recursive: true, force: true });
    }
  }
});

const query = (database: string) => <T extends Record<string, unknown>>(sql: string) => adminQuery<T>(sql, cluster!.url(database));

describe('[rows 9, 11] database server faults', () => {
  it('[row 9] pg_ctl restart -m immediate mid-run: no hang, bounded retries, rolled back, the recovery converges', async () => {
    await adminQuery('CREATE DATABASE restart_db', cluster!.url());
    const db = query('restart_db');
    const url = cluster!.url('restart_db');
    const names = ['20240101000000_slow', '20240101000001_next'];
    const dir = writeMigrations({
      [names[0]!]: 'CREATE TABLE restarted (id int);\nINSERT INTO restarted SELECT generate_series(1, 1000);\nSELECT pg_sleep(3);\n',
      [names[1]!]: 'CREATE TABLE after_restart (id int);\n',
    });
    const runner = startCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: url, DIGILOG_CONNECT_RETRIES: '0' });
    try {
      await eventually('migration running', async () => (await db(`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()`)).length > 0);
    } catch (error) {
      runner.child.kill('SIGKILL');
      throw error;
    }
    const stoppedAt = performance.now();
    cluster!.stop('immediate');
    const run = await runner.done;
    const failedAfterMs = performance.now() - stoppedAt;
    expect(run.code).toBe(EXIT_CODES.unreachable);
    expect(run.stderr).toContain(`Lost the connection to the database while ${names[0]} was running`);

    // While the server is down: without retries a run fails at once (never hangs) ...
    const noRetry = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: url, DIGILOG_CONNECT_RETRIES: '0' });
    expect(noRetry.code).toBe(EXIT_CODES.unreachable);
    expect(noRetry.durationMs).toBeLessThan(5_000);
    // ... and with bounded retries (backoff 0.25, 0.5, 1, 2, 4 s) it waits for the server to come back.
    const retrying = startCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: url, DIGILOG_CONNECT_RETRIES: '5' });
    await new Promise((r) => setTimeout(r, 1_000));
    cluster!.start();
    const rerun = await retrying.done;
    expect(rerun.durationMs).toBeGreaterThan(1_000);
    // The transactional script was rolled back by crash recovery; its "started" row names it.
    expect(await db(`SELECT to_regclass('restarted') AS t`)).toEqual([{ t: null }]);
    expect(rerun.code).toBe(EXIT_CODES['failed-migration']);
    expect(rerun.stderr).toContain(`digilog-db resolve --rolled-back "${names[0]}"`);
    expect((await runCli(['resolve', '--rolled-back', names[0]!, '--migrations-dir', dir], { DATABASE_URL: url })).code).toBe(0);
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: url })).code).toBe(0);
    const lostOrDoubled = await countLostOrDoubled(db, names);
    expect(lostOrDoubled).toBe(0);
    expect(await db(`SELECT count(*)::int AS n FROM restarted`)).toEqual([{ n: 1000 }]);
    expect(await migrationLockRows(db)).toEqual([]);
    recordReliability({
      row: 9,
      scenario: 'PostgreSQL stopped with -m immediate mid-migration, then started again',
      fault: 'immediate shutdown during migration 1 of 2; a run while down; a run with 5 retries across the restart',
      result: `runner exit ${EXIT_CODES.unreachable} after ${Math.round(failedAfterMs)} ms; run while down exit ${EXIT_CODES.unreachable} in ${Math.round(noRetry.durationMs)} ms; retrying run reconnected and named the rolled-back migration; resolve + migrate converged`,
      runners: 3,
      faults: 1,
      lostOrDoubled,
    });
  }, 60_000);

  it('[row 11] disk full: the migration fails with SQLSTATE 53100, is rolled back, exits non-zero, never recorded as applied', async () => {
    // The database's files live on a 32 MB tmpfs (its default tablespace); WAL stays on the
    // cluster's own disk, because a full WAL disk PANICs the server and leaves orphaned files,
    // which would make this test depend on timing rather than on what migrate does.
    smallDisk = mkdtempSync(join(tmpdir(), 'digilog-small-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,uid=postgres,gid=postgres,mode=0700', 'tmpfs', smallDisk]);
    await adminQuery(`CREATE TABLESPACE small_disk LOCATION '${smallDisk}'`, cluster!.url());
    await adminQuery('CREATE DATABASE full_db TABLESPACE small_disk', cluster!.url());
    const db = query('full_db');
    const url = cluster!.url('full_db');
    const usedKb = () => Number(execFileSync('df', ['--output=used', '-k', smallDisk!], { encoding: 'utf8' }).trim().split('\n')[1]);
    const names = ['20240101000000_small', '20240101000001_fill'];
    const dir = writeMigrations({
      [names[0]!]: 'CREATE TABLE small_one (id int);\n',
      // About 60 MB of incompressible-as-stored rows (each under the TOAST threshold, kept inline).
      [names[1]!]: 'CREATE TABLE fill (id int, v text);\nINSERT INTO fill SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, 60000) g;\n',
    });
    const run = await runCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: url });
    expect(run.code).toBe(EXIT_CODES['migration-sql']);
    const error = JSON.parse(run.stdout).error;
    expect(error).toMatchObject({ prismaCode: 'P3018', details: { migration: names[1], sqlState: '53100' } });
    expect(error.message).toMatch(/No space left on device/);
    // Rolled back: no table, its files removed (the space is back), the row records the failure.
    expect(await db(`SELECT to_regclass('fill') AS t`)).toEqual([{ t: null }]);
    const rows = await db<{ migration_name: string; finished: boolean; logs: string | null }>(
      `SELECT migration_name, finished_at IS NOT NULL AS finished, logs FROM _prisma_migrations ORDER BY 1`,
    );
    expect(rows.map((r) => [r.migration_name, r.finished])).toEqual([
      [names[0], true],
      [names[1], false],
    ]);
    expect(rows[1]!.logs).toContain('53100');
    expect(usedKb()).toBeLessThan(24 * 1024);
    const status = await runCli(['status', '--json', '--migrations-dir', dir], { DATABASE_URL: url });
    expect(status.code).toBe(EXIT_CODES['failed-migration']);
    expect(JSON.parse(status.stdout).failed.map((f: { name: string }) => f.name)).toEqual([names[1]]);
    const lostOrDoubled = await countLostOrDoubled(db, [names[0]!]);
    expect(lostOrDoubled).toBe(0);
    expect(await migrationLockRows(db)).toEqual([]);
    recordReliability({
      row: 11,
      scenario: "disk full: the database's files on a 32 MB tmpfs",
      fault: 'a migration inserting ~60 MB',
      result: `exit ${EXIT_CODES['migration-sql']} (P3018, SQLSTATE 53100); rolled back and its space freed; recorded failed, never applied; status exit ${EXIT_CODES['failed-migration']}`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  }, 60_000);
});
