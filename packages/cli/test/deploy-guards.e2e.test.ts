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
  const [table] = await db.query<{ exists: boolean }>(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`);
  if (!table?.exists) return [];
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

describe('a migration that opens a transaction and never ends it', () => {
  const BEGIN_ONLY = '-- CreateTable\nBEGIN;\nCREATE TABLE a (id int);\n';

  it('is refused by migrate before anything runs (exit 2, file and line), and by lint', async () => {
    const db = await database('digilog_guard');
    const dir = writeMigrations({ '20240101000000_begin_only': BEGIN_ONLY, '20240102000000_next': 'CREATE TABLE b (id int);\n' });
    const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stdout).not.toContain('✔');
    expect(run.stderr).toContain(`${join(dir, '20240101000000_begin_only', 'migration.sql')}:2`);
    expect(await historyRows(db)).toEqual([]);
    expect(await db.query(`SELECT to_regclass('a') AS a, to_regclass('b') AS b`)).toEqual([{ a: null, b: null }]);

    const linted = await runCli(['lint', join(dir, '20240101000000_begin_only')]);
    expect(linted.code).toBe(EXIT_CODES.usage);
    expect(linted.stdout + linted.stderr).toContain('never ends it');
  });

  it('is never recorded as applied when a script sent as written leaves its transaction open', async () => {
    const db = await database('digilog_guard');
    const { MigrationHistory } = await import('../src/db/history.js');
    const { applyMigration, recordStart } = await import('../src/db/apply.js');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const history = new MigrationHistory(client, 'public');
      await history.create();
      const migration = { name: '20240101000000_begin_only', path: '/x/migration.sql', sql: BEGIN_ONLY, checksum: 'c' };
      const started = await recordStart(client, history, migration);
      // The mode the runner picks for a file the parser could not read: the script exactly as written.
      const error = await applyMigration(client, history, started, undefined, {}, 'as-written').then(() => null, (e: unknown) => e);
      expect(error).toMatchObject({ kind: 'migration-sql' });
      expect(String((error as Error).message)).toContain('left a transaction open');
    } finally {
      await client.end();
    }
    expect(await historyRows(db)).toEqual([{ migration_name: '20240101000000_begin_only', finished: false }]);
    expect(await db.query(`SELECT to_regclass('a') AS a`)).toEqual([{ a: null }]);
  });
});
