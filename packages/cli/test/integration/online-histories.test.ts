/**
 * `migrate --online` over whole histories (the repository's scenario histories and the real ones
 * in ../shared/workloads): every migration after the first runs in its online form on tables
 * earlier migrations created, and the final schema (pg_dump) is exactly the plain apply's.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/deploy/migrate.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { testDatabases } from '../support/database.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, WORKLOADS, workloadsDir } from '../support/migrations.js';
import { schemaDump } from '../support/psql.js';
import { testRunner } from '../support/runner.js';

const newDatabase = testDatabases();

async function compareOnline(migrationsDir: string, { rewrites = true } = {}): Promise<void> {
  const plain = await newDatabase('digilog_online_plain');
  const online = await newDatabase('digilog_online_hist');
  await migrate(testRunner(plain.url, migrationsDir));
  const result = await migrate(testRunner(online.url, migrationsDir, { online: true }));
  expect(result.applied.length).toBe(readMigrations(migrationsDir).length);
  // The rewrites really ran (not only files left as written).
  expect(result.applied.some((a) => (a.onlineSteps ?? 0) > 0)).toBe(rewrites);
  expect(schemaDump(online.url)).toBe(schemaDump(plain.url));
  expect(await online.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NULL OR logs IS NOT NULL OR applied_steps_count <> 1`)).toEqual([{ n: 0 }]);
}

describe('--online over whole histories: the same schema as the plain apply', () => {
  it.each(FIXTURE_HISTORIES)('fixture history %s', async (history) => {
    // That history builds its indexes CONCURRENTLY and manages its own transactions already: nothing to rewrite.
    await compareOnline(join(HISTORIES_DIR, history), { rewrites: history !== 'concurrently-and-explicit-transactions' });
  });

  it.for(WORKLOADS)('real history %s', async (workload, context) => {
    await compareOnline(join(workloadsDir(context), workload, 'migrations'));
  });
});
