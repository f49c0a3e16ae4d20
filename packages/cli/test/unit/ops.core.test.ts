/**
 * The pure parts of logs and metrics: migration metrics from a status result, and the
 * migration event log's lines (classification taken from migrate's plan, failure
 * fields, connectivity errors named as such), written through a capturing logger.
 */
import { describe, expect, it } from 'vitest';
import { migrationMetrics, type MetricFamily } from '../../src/metrics/migration-metrics.js';
import { renderFamilies } from '../../src/metrics/prometheus.js';
import { migrationEventLog } from '../../src/output/migration-log.js';
import type { Logger } from '../../src/log/json-logger.js';
import { DigilogError } from '../../src/errors.js';
import type { StatusResult } from '../../src/status/check-status.js';
import { toMigration, type Migration } from '../../src/read/migrations-folder.js';
import { planSteps } from '../../src/plan/plan.js';

const at = (iso: string) => new Date(iso);

function status(overrides: Partial<StatusResult> = {}): StatusResult {
  return {
    state: 'upToDate',
    tableExists: true,
    schemaEmpty: true,
    localCount: 2,
    applied: [
      { name: '20240101000000_a', startedAt: at('2024-01-01T00:00:00.000Z'), finishedAt: at('2024-01-01T00:00:01.500Z'), checksum: 'x', durationMs: 1500 },
      { name: '20240102000000_b', startedAt: at('2024-01-02T00:00:00.000Z'), finishedAt: at('2024-01-02T00:00:00.250Z'), checksum: 'y', durationMs: 250 },
    ],
    pending: [],
    failed: [],
    edited: [],
    missingFromDisk: [],
    renamed: [],
    outOfOrder: [],
    slow: [],
    running: [],
    invalidIndexes: [],
    summary: 'Database is up to date!',
    database: '127.0.0.1:5432/db',
    schema: 'public',
    migrationsDir: '/tmp/m',
    lockHolder: null,
    durationMs: 1,
    ...overrides,
  };
}

const family = (families: MetricFamily[], name: string) => families.find((f) => f.name === name);

describe('migrationMetrics', () => {
  it('counts by state, a duration per applied migration, the latest finish, the lock', () => {
    const families = migrationMetrics(status({ pending: [toMigration('20240103000000_c', '/m/20240103000000_c/migration.sql', '')], lockHolder: { pid: 7, applicationName: 'x', state: 'idle' } as StatusResult['lockHolder'] }));
    expect(family(families, 'digilog_database_up')!.samples).toEqual([{ value: 1 }]);
    expect(family(families, 'digilog_migrations')!.samples).toEqual([
      { labels: { state: 'applied' }, value: 2 },
      { labels: { state: 'pending' }, value: 1 },
      { labels: { state: 'failed' }, value: 0 },
      { labels: { state: 'edited' }, value: 0 },
      { labels: { state: 'missing' }, value: 0 },
    ]);
    expect(family(families, 'digilog_migration_duration_seconds')!.samples).toEqual([
      { labels: { name: '20240101000000_a' }, value: 1.5 },
      { labels: { name: '20240102000000_b' }, value: 0.25 },
    ]);
    expect(family(families, 'digilog_migration_last_run_timestamp')!.samples).toEqual([{ value: at('2024-01-02T00:00:00.250Z').getTime() / 1000 }]);
    expect(family(families, 'digilog_migration_lock_held')!.samples).toEqual([{ value: 1 }]);
  });

  it('an unreachable database is database_up 0 and nothing else; no applied migration means no last-run timestamp', async () => {
    expect(migrationMetrics(null)).toEqual([expect.objectContaining({ name: 'digilog_database_up', samples: [{ value: 0 }] })]);
    expect(family(migrationMetrics(status({ applied: [] })), 'digilog_migration_last_run_timestamp')).toBeUndefined();
    const text = await renderFamilies(migrationMetrics(null));
    expect(text).toBe('# HELP digilog_database_up Whether the last status check reached the database (1) or not (0)\n# TYPE digilog_database_up gauge\ndigilog_database_up 0\n');
  });
});

describe('migrationEventLog', () => {
  const local = (name: string, sql: string): Migration => toMigration(name, `/tmp/${name}/migration.sql`, sql);
  function capture(): { log: Logger; lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
    const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
    return { lines, log: (level, message, fields = {}) => lines.push({ level, message, fields }) };
  }

  /** The `plan` event migrate sends before the first migration starts (no database: rule levels). */
  const planEvent = async (...migrations: Migration[]) => ({ type: 'plan' as const, plan: await planSteps(migrations, { largeTableRows: 100_000 }) });

  it('writes lines in event order, each with its classification from the plan', async () => {
    const { log, lines } = capture();
    const events = migrationEventLog(log);
    events.onEvent(await planEvent(local('m1', 'CREATE TABLE t (id int);'), local('m2', 'DROP TABLE u;')));
    events.onEvent({ type: 'lock-wait', holder: null });
    events.onEvent({ type: 'lock-acquired', waitedMs: 120.4 });
    events.onEvent({ type: 'migration-start', name: 'm1', index: 0, total: 2 });
    events.onEvent({ type: 'migration-done', result: { name: 'm1', mode: 'transactional', durationMs: 12.6 }, index: 0, total: 2 });
    events.onEvent({ type: 'migration-start', name: 'm2', index: 1, total: 2 });
    events.onEvent({ type: 'migration-done', result: { name: 'm2', mode: 'transactional', durationMs: 3 }, index: 1, total: 2 });
    events.onEvent({ type: 'warning', message: 'Applied but missing from disk: m0' });
    expect(lines.map((l) => l.fields.event)).toEqual(['migration.lock_wait', 'migration.lock_acquired', 'migration.started', 'migration.finished', 'migration.started', 'migration.finished', 'migration.warning']);
    expect(lines[1]!.fields.waitedMs).toBe(120);
    expect(lines[3]!.fields).toMatchObject({ migration: 'm1', durationMs: 13, classification: { level: 'safe', rules: [] } });
    expect(lines[5]!.fields).toMatchObject({ migration: 'm2', classification: { level: 'dangerous', rules: ['drop-table'] } });
    expect(lines[6]!.level).toBe('warn');
  });

  it('a failure names the running migration, its duration, kind, exit code and SQLSTATE; unreachable and lock timeouts get their own events', async () => {
    const { log, lines } = capture();
    const events = migrationEventLog(log);
    events.onEvent(await planEvent(local('m1', 'SELECT 1;\nSELEC broken')));
    events.onEvent({ type: 'migration-start', name: 'm1', index: 0, total: 1 });
    events.failed(new DigilogError('migration-sql', 'Migration m1 failed to apply: boom', { prismaCode: 'P3018', details: { migration: 'm1', sqlState: '42601' } }));
    events.failed(new DigilogError('unreachable', "Can't reach database server", { prismaCode: 'P1001' }));
    events.failed(new DigilogError('lock-timeout', 'Timed out', { prismaCode: 'P1002' }));
    events.failed(new Error('unexpected'));
    expect(lines[1]!.fields).toMatchObject({ event: 'migration.failed', migration: 'm1', kind: 'migration-sql', exitCode: 6, prismaCode: 'P3018', sqlState: '42601', classification: { level: 'unparsed' } });
    expect(lines[1]!.fields.durationMs).toEqual(expect.any(Number));
    expect(lines.slice(2).map((l) => [l.fields.event, l.fields.exitCode])).toEqual([
      ['database.unreachable', 8],
      ['migration.lock_timeout', 5],
      ['migration.failed', 1],
    ]);
  });
});
