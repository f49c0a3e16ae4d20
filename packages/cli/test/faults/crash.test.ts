/**
 * kill -9 of the runner at many points of a run (TEST-MATRIX rows 7 and 8):
 * a migration's changes exist if and only if its row is finished, an
 * interrupted migration is reported by name with the recovery command, and
 * the run converges after recovery.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { BIN, runCli, startCli } from '../support/cli.js';
import { countLostOrDoubled, eventually, migrationLockRows } from '../support/counting.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { REPO_ROOT, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();

const COUNT = 6;
let interruptedRuns = 0;
let timedKills = 0;
let timedLostOrDoubled = 0;
const migrations = Object.fromEntries(
  Array.from({ length: COUNT }, (_, i) => [
    `2024010100000${i}_step_${i}`,
    `CREATE TABLE t${i} (id int);\nSELECT pg_sleep(0.12);\nINSERT INTO t${i} VALUES (${i});\n`,
  ]),
);

/** Starts `migrate` and SIGKILLs it after `afterMs`. */
function killAfter(url: string, dir: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'migrate', '--migrations-dir', dir], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: url, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function waitForOrphans(db: TestDatabase): Promise<void> {
  // PostgreSQL finishes (or rolls back) the killed client's statement on its own; wait for that backend to go.
  for (let i = 0; i < 100; i++) {
    const rows = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'digilog-db%'`);
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('killed runner backend did not finish');
}

describe('[rows 7–8] kill -9 during migrate', () => {
  it.each([350, 450, 550, 650, 800, 950, 1100])('[row 7] killed after %i ms: changes exist iff recorded finished; recovery converges', async (afterMs) => {
    const db = await newDatabase('digilog_crash');
    const dir = writeMigrations(migrations);
    await killAfter(db.url, dir, afterMs);
    timedKills += 1;
    await waitForOrphans(db);
    expect(await migrationLockRows(db.query)).toEqual([]);

    const rows = await db.query<{ migration_name: string; finished: boolean }>(
      `SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY 1`,
    ).catch(() => []);
    const finished = new Set(rows.filter((r) => r.finished).map((r) => r.migration_name));
    for (let i = 0; i < COUNT; i++) {
      const [{ exists }] = (await db.query<{ exists: boolean }>(`SELECT to_regclass('t${i}') IS NOT NULL AS exists`)) as [{ exists: boolean }];
      expect({ migration: i, applied: exists }).toEqual({ migration: i, applied: finished.has(`2024010100000${i}_step_${i}`) });
    }

    const interrupted = rows.filter((r) => !r.finished).map((r) => r.migration_name);
    expect(interrupted.length).toBeLessThanOrEqual(1);
    if (interrupted.length === 1) interruptedRuns += 1;
    const next = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    if (interrupted.length === 1) {
      // Reported by name with the command to recover, then recovered.
      expect(next.code).toBe(EXIT_CODES['failed-migration']);
      expect(next.stderr).toContain(interrupted[0]);
      expect(next.stderr).toContain(`resolve --rolled-back "${interrupted[0]}"`);
      expect((await runCli(['resolve', '--rolled-back', interrupted[0]!, '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
      expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    } else {
      expect(next.code).toBe(0);
    }
    const counts = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    expect(counts).toEqual([{ n: COUNT }]);
    for (let i = 0; i < COUNT; i++) expect(await db.query(`SELECT * FROM t${i}`)).toEqual([{ id: i }]);
    timedLostOrDoubled += await countLostOrDoubled(db.query, Object.keys(migrations));
  });

  it('[row 7] at least one kill landed inside a migration (the cases above exercise recovery, not only clean stops)', () => {
    expect(interruptedRuns).toBeGreaterThan(0);
    expect(timedLostOrDoubled).toBe(0);
    recordReliability({
      row: 7,
      scenario: `kill -9 at ${timedKills} points of a ${COUNT}-migration run`,
      fault: `${timedKills} SIGKILLs (${interruptedRuns} inside a migration)`,
      result: 'changes exist iff recorded finished; lock freed; interrupted migration reported by name with the resolve command; recovery converges',
      runners: 1,
      faults: timedKills,
      lostOrDoubled: timedLostOrDoubled,
    });
  });

  it('[row 7] kill -9 during a long transactional migration: lock freed, no DDL left, next run names it with the recovery command and exits 6', async () => {
    const db = await newDatabase('digilog_crash_long');
    const name = '20240101000000_long';
    const dir = writeMigrations({ [name]: 'CREATE TABLE long_ddl (id int);\nINSERT INTO long_ddl SELECT generate_series(1, 1000);\nSELECT pg_sleep(3);\n' });
    const runner = startCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    try {
      await eventually('migration running', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()`)).length > 0);
    } finally {
      runner.child.kill('SIGKILL');
    }
    expect((await runner.done).signal).toBe('SIGKILL');
    // The server notices the lost client (client_connection_check_interval) and rolls back well before pg_sleep ends.
    const freedMs = await eventually('lock freed', async () => (await migrationLockRows(db.query)).length === 0, 5_000);
    expect(await db.query(`SELECT to_regclass('long_ddl') AS t`)).toEqual([{ t: null }]);
    const next = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(next.code).toBe(EXIT_CODES['failed-migration']);
    expect(next.stderr).toContain(name);
    expect(next.stderr).toContain(`digilog-db resolve --rolled-back "${name}"`);
    expect((await runCli(['resolve', '--rolled-back', name, '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    const lostOrDoubled = await countLostOrDoubled(db.query, [name]);
    expect(lostOrDoubled).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM long_ddl`)).toEqual([{ n: 1000 }]);
    recordReliability({
      row: 7,
      scenario: 'kill -9 during a long transactional migration',
      fault: 'SIGKILL while the script runs (pg_sleep 3 s)',
      result: `lock freed ${Math.round(freedMs)} ms after the kill; no DDL left; next run exit 6 naming it with resolve --rolled-back; recovery converges`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  }, 30_000);

  it('[row 8] kill -9 while the migration commits: script and "finished" record are kept or lost together', async () => {
    const db = await newDatabase('digilog_crash_commit');
    const name = '20240101000000_slow_commit';
    // A deferred constraint trigger sleeps at COMMIT: every statement of the script and the
    // "finished" bookkeeping have run when the runner is killed, and the transaction is committing.
    const sql = `CREATE TABLE committed_ddl (id int);
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON committed_ddl DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
INSERT INTO committed_ddl VALUES (1);
`;
    const dir = writeMigrations({ [name]: sql });
    const runner = startCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    try {
      await eventually('commit in progress', async () =>
        (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep' AND query LIKE '%slow_commit%' AND pid <> pg_backend_pid()`)).length > 0,
      );
    } finally {
      runner.child.kill('SIGKILL');
    }
    expect((await runner.done).signal).toBe('SIGKILL');
    await eventually('lock freed', async () => (await migrationLockRows(db.query)).length === 0, 6_000);
    const [state] = await db.query<{ ddl: boolean; finished: boolean }>(
      `SELECT to_regclass('committed_ddl') IS NOT NULL AS ddl, EXISTS (SELECT 1 FROM _prisma_migrations WHERE migration_name = '${name}' AND finished_at IS NOT NULL) AS finished`,
    );
    // Never "script committed but not recorded" (nor the reverse).
    expect(state!.ddl).toBe(state!.finished);
    const next = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    if (state!.finished) expect(next.code).toBe(0);
    else {
      expect(next.code).toBe(EXIT_CODES['failed-migration']);
      expect(next.stderr).toContain(`resolve --rolled-back "${name}"`);
    }
    recordReliability({
      row: 8,
      scenario: 'kill -9 while the migration transaction commits (after the script, with the "finished" record in it)',
      fault: 'SIGKILL during a 3 s deferred trigger at COMMIT',
      result: `script and finished record ${state!.finished ? 'both committed' : 'both rolled back'}; never one without the other`,
      runners: 1,
      faults: 1,
      lostOrDoubled: state!.ddl === state!.finished ? 0 : 1,
    });
  }, 30_000);
});
