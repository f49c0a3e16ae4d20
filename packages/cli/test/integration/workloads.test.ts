/**
 * Whole migration histories: the repository's own scenario histories
 * (fixtures/histories), the project's own migrations and, when present, the
 * real histories of public projects (../shared/workloads). Each applies through
 * digilog-db, yields exactly the schema psql produces from the same files, and
 * leaves status clean.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkStatus } from '../../src/status/check-status.js';
import { migrate } from '../../src/deploy/migrate.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { testDatabases } from '../support/database.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, PROJECT_MIGRATIONS, WORKLOADS, workloadsDir } from '../support/migrations.js';
import { applyWithPsql, schemaDump } from '../support/psql.js';
import { testRunner } from '../support/runner.js';

const newDatabase = testDatabases();

async function compareWithPsql(migrationsDir: string): Promise<void> {
  const ours = await newDatabase('digilog_wl');
  const theirs = await newDatabase('digilog_wl_psql');
  const result = await migrate(testRunner(ours.url, migrationsDir));
  expect(result.applied.length).toBe(readMigrations(migrationsDir).length);
  applyWithPsql(theirs.url, migrationsDir);
  expect(schemaDump(ours.url)).toBe(schemaDump(theirs.url));
  const status = await checkStatus(testRunner(ours.url, migrationsDir));
  expect(status.state).toBe('upToDate');
  expect(status.applied.length).toBe(result.applied.length);
  const [{ count }] = (await ours.query<{ count: string }>(
    `SELECT count(*)::text AS count FROM _prisma_migrations WHERE finished_at IS NOT NULL AND applied_steps_count = 1 AND rolled_back_at IS NULL`,
  )) as [{ count: string }];
  expect(Number(count)).toBe(result.applied.length);
}

describe('migration histories', () => {
  it.each(FIXTURE_HISTORIES)('fixture history %s applies and matches psql', async (history) => {
    await compareWithPsql(join(HISTORIES_DIR, history));
  });

  it("the project's own migrations apply and match psql", async () => {
    expect(readMigrations(PROJECT_MIGRATIONS).length).toBeGreaterThan(0);
    await compareWithPsql(PROJECT_MIGRATIONS);
  });
});

describe('real migration histories (../shared/workloads)', () => {
  it.for(WORKLOADS)('%s applies and matches psql', async (workload, context) => {
    await compareWithPsql(join(workloadsDir(context), workload, 'migrations'));
  });
});
