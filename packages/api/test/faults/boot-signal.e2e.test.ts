/**
 * SIGTERM while the API is still migrating at boot (a rolling deploy replacing
 * the pod): the migration in progress finishes, no other starts, the lock is
 * released, and the process exits with the documented code 11, leaving no
 * failed row behind (before, the process died mid-script and left one).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../cli/src/errors.js';
import { testDatabases } from '../../../cli/test/support/database.js';
import { writeMigrations } from '../../../cli/test/support/migrations.js';
import { REPO_ROOT, waitFor } from '../support/server.js';

const database = testDatabases();

describe('API boot interrupted by SIGTERM', () => {
  it('finishes the current migration, starts no other, releases the lock and exits 11', async () => {
    const db = await database('digilog_boot_signal');
    const dir = writeMigrations({
      '20240101000000_slow': 'CREATE TABLE a (id int);\nSELECT pg_sleep(2);\n',
      '20240102000000_next': 'CREATE TABLE b (id int);\n',
    });
    const child = spawn(process.execPath, [join(REPO_ROOT, 'packages', 'api', 'dist', 'server.js')], {
      cwd: dirname(dirname(dir)),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url, AUTO_MIGRATE: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Signal once the slow migration is running.
    await waitFor(async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()`))[0]!.n > 0, 20_000, 50);
    child.kill('SIGTERM');
    const code = await exited;

    expect(code, output).toBe(EXIT_CODES.interrupted);
    expect(output).toContain('"event":"boot.signal"');
    expect(output).not.toContain('"msg":"listening"');
    const rows = await db.query<{ migration_name: string; finished: boolean }>(`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY migration_name`);
    expect(rows).toEqual([{ migration_name: '20240101000000_slow', finished: true }]);
    expect(await db.query(`SELECT to_regclass('b') AS b`)).toEqual([{ b: null }]);
    expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([]);
  });
});
