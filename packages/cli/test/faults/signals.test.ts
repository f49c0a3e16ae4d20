/** SIGTERM (TEST-MATRIX row 12) and SIGHUP during migrate: the current migration finishes, no other starts, the lock is released, exit 11. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { BIN, runCli } from '../support/cli.js';
import { countLostOrDoubled } from '../support/counting.js';
import { testDatabases } from '../support/database.js';
import { REPO_ROOT, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();

/** Starts `migrate` on four slow migrations and sends `signal` once the first one runs. */
async function interruptMidRun(signal: NodeJS.Signals, prefix: string) {
  const db = await newDatabase(prefix);
  const names = Array.from({ length: 4 }, (_, i) => `2024010100000${i}_step_${i}`);
  const dir = writeMigrations(Object.fromEntries(names.map((name, i) => [name, `CREATE TABLE t${i} (id int);\nSELECT pg_sleep(0.4);\n`])));
  const child = spawn(process.execPath, [BIN, 'migrate', '--migrations-dir', dir], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // Signal once the first migration is running.
  for (let i = 0; i < 100; i++) {
    const running = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(0.4)%' AND pid <> pg_backend_pid()`);
    if (running.length > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const rows = await db.query<{ migration_name: string; finished: boolean }>(
    `SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY 1`,
  );
  return { db, dir, names, code, stderr, rows };
}

type Interrupted = Awaited<ReturnType<typeof interruptMidRun>>;

/**
 * What a stop between migrations must leave: at least one migration recorded, every recorded one
 * finished, no advisory lock; the next run applies the rest, none lost or doubled. Returns that count (0).
 */
async function expectStoppedThenResumed({ db, dir, names, rows }: Omit<Interrupted, 'code' | 'stderr'>): Promise<number> {
  expect(rows.length).toBeGreaterThanOrEqual(1);
  expect(rows.every((r) => r.finished)).toBe(true);
  expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([]);
  const next = await runCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
  expect(next.code).toBe(0);
  expect(JSON.parse(next.stdout).applied.length).toBe(4 - rows.length);
  const lostOrDoubled = await countLostOrDoubled(db.query, names);
  expect(lostOrDoubled).toBe(0);
  return lostOrDoubled;
}

describe('[row 12] SIGTERM during migrate', () => {
  it('[row 12] stops cleanly between migrations and the next run continues', async () => {
    const { db, dir, names, code, stderr, rows } = await interruptMidRun('SIGTERM', 'digilog_sigterm');
    expect(code).toBe(EXIT_CODES.interrupted);
    expect(stderr).toContain('Run `digilog-db migrate` again to continue');
    const lostOrDoubled = await expectStoppedThenResumed({ db, dir, names, rows });
    recordReliability({
      row: 12,
      scenario: 'SIGTERM to a runner mid-run (rolling deploy)',
      fault: 'SIGTERM while migration 1 of 4 runs',
      result: `current migration finished, ${4 - rows.length} not started, lock released, exit ${EXIT_CODES.interrupted}; next run applied the rest`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  });
});

describe('SIGHUP during migrate (the terminal or ssh session closed)', () => {
  it('stops like SIGTERM: the current migration finishes, none is left failed, exit 11, lock released', async () => {
    const { db, dir, names, code, stderr, rows } = await interruptMidRun('SIGHUP', 'digilog_sighup');
    expect(code).toBe(EXIT_CODES.interrupted);
    expect(stderr).toContain('SIGHUP received: finishing the current migration');
    await expectStoppedThenResumed({ db, dir, names, rows });
  });
});
