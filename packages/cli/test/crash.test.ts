/**
 * kill -9 of the runner at many points of a run (TEST-MATRIX rows 7 and 8):
 * a migration's changes exist if and only if its row is finished, an
 * interrupted migration is reported by name with the recovery command, and
 * the run converges after recovery.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { BIN, runCli } from './support/cli.js';
import { testDatabases, type TestDatabase } from './support/database.js';
import { REPO_ROOT, writeMigrations } from './support/migrations.js';

const newDatabase = testDatabases();

const COUNT = 6;
let interruptedRuns = 0;
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

describe('kill -9 during migrate', () => {
  it.each([350, 450, 550, 650, 800, 950, 1100])('killed after %i ms: changes exist iff recorded finished; recovery converges', async (afterMs) => {
    const db = await newDatabase('digilog_crash');
    const dir = writeMigrations(migrations);
    await killAfter(db.url, dir, afterMs);
    await waitForOrphans(db);

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
  });

  it('at least one kill landed inside a migration (the cases above exercise recovery, not only clean stops)', () => {
    expect(interruptedRuns).toBeGreaterThan(0);
  });
});
