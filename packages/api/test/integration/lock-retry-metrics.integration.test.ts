/**
 * /metrics counts the boot migration's lock retries: a real migrate() waits out a real blocking
 * session in short attempts, the same event log the server wires into createMetrics() counts them,
 * and the exposition shows digilog_migration_lock_retries_total with that count.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, migrate, migrationEventLog, runnerOptions, silentLogger, type HealthSnapshot } from '@digilog/db';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { testDatabases } from '../../../cli/test/support/database.js';

const newDatabase = testDatabases();

function project(migrations: Record<string, string>): { migrationsDir: string; schemaPath: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-retry-metrics-'));
  const migrationsDir = join(root, 'prisma', 'migrations');
  mkdirSync(migrationsDir, { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  writeFileSync(join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) {
    mkdirSync(join(migrationsDir, name));
    writeFileSync(join(migrationsDir, name, 'migration.sql'), sql);
  }
  return { migrationsDir, schemaPath: join(root, 'prisma', 'schema.prisma') };
}

describe('lock retries in /metrics', () => {
  it('digilog_migration_lock_retries_total counts the retries of the boot migration', async () => {
    const db = await newDatabase('digilog_retry_metrics');
    const paths = project({ '20240101000000_init': 'CREATE TABLE accounts (id int PRIMARY KEY);\n' });
    const runner = runnerOptions(loadConfig({ DATABASE_URL: db.url, DIGILOG_LOCK_TIMEOUT: '300ms' }), paths);
    await migrate(runner);
    mkdirSync(join(paths.migrationsDir, '20240102000000_add_note'));
    writeFileSync(join(paths.migrationsDir, '20240102000000_add_note', 'migration.sql'), 'ALTER TABLE accounts ADD COLUMN note text;\n');
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN; LOCK TABLE accounts IN ROW EXCLUSIVE MODE');
    const events = migrationEventLog(silentLogger);
    try {
      await migrate({
        ...runner,
        onEvent(event) {
          events.onEvent(event);
          if (event.type === 'lock-retry' && event.attempt === 2) void holder.query('COMMIT');
        },
      });
    } finally {
      await holder.end();
    }
    expect(events.lockRetries).toBe(2);
    const snapshot: HealthSnapshot = { status: null, checkError: 'unreachable', replica: null, checkedAt: new Date(), boot: { action: 'applied', reason: 'test' }, shuttingDown: false };
    const metrics = createMetrics({ health: { current: () => snapshot, failedChecks: 0 }, pools: () => ({}), boot: { lockWaitMs: 0, durationMs: 1, lockRetries: () => events.lockRetries } });
    const text = await metrics.render();
    expect(text).toContain('# TYPE digilog_migration_lock_retries_total counter');
    expect(text).toMatch(/^digilog_migration_lock_retries_total 2$/m);
  });
});
