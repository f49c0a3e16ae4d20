/**
 * Wrong states, hangs and silent successes of a deploy, on real PostgreSQL
 * through the built binary: an uncreatable backup folder, a file that opens a
 * transaction and never ends it, a renamed applied folder, a fresh deploy
 * through the production guard, and lint agreeing with migrate.
 */
import { renameSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { startCli, runCli, type CliRun } from './support/cli.js';
import { testDatabases, type TestDatabase } from './support/database.js';
import { addMigration, workloadsDir, writeMigrations } from './support/migrations.js';

const database = testDatabases();

/** Runs the CLI, killing it if it has not exited after `limitMs` (a hang is a failure, reported as such). */
async function runBounded(args: string[], env: Record<string, string>, limitMs = 15_000): Promise<CliRun & { killed: boolean }> {
  const started = startCli(args, env);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    started.child.kill('SIGKILL');
  }, limitMs);
  const run = await started.done;
  clearTimeout(timer);
  return { ...run, killed };
}

async function historyRows(db: TestDatabase): Promise<Array<{ migration_name: string; finished: boolean }>> {
  const [{ exists }] = await db.query<{ exists: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`);
  if (!exists) return [];
  return db.query(`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at, migration_name`);
}

describe('migrate --backup into a folder that cannot be created', () => {
  it('fails at once with exit 12 naming the folder, and migrates nothing', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE t (id int);\n' });
    const run = await runBounded(['migrate', '--backup', '/proc/digilog-backups/x', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.killed).toBe(false);
    expect(run.code).toBe(EXIT_CODES['backup-failed']);
    expect(run.stderr).toContain('/proc/digilog-backups/x');
    expect(await historyRows(db)).toEqual([]);
    expect(await db.query(`SELECT to_regclass('t') AS t`)).toEqual([{ t: null }]);
  });
});
