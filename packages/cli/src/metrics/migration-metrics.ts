/**
 * Migration metrics as plain data: one function from a status result to the
 * samples that `GET /metrics` and `digilog-db status --prometheus` both
 * expose, so the two can never disagree on names or meaning. Pure.
 */
import type { StatusResult } from '../status/check-status.js';

export interface MetricSample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  samples: MetricSample[];
}

/** The metric names, fixed here: alert rules and dashboards depend on them. */
export const MIGRATION_METRICS = {
  databaseUp: 'digilog_database_up',
  // Not `_total`: a count that goes down (pending → applied) is a gauge, and Prometheus reads `_total` as a counter.
  migrations: 'digilog_migrations',
  migrationDuration: 'digilog_migration_duration_seconds',
  migrationFinished: 'digilog_migration_finished_timestamp_seconds',
  lastRun: 'digilog_migration_last_run_timestamp',
  lockHeld: 'digilog_migration_lock_held',
} as const;

/**
 * Per-migration series exist for the most recent ones only: a label per migration name would
 * otherwise grow with the history forever (a series each, in every scrape and every TSDB block).
 * Alerts need only a migration that just ran; older times are in _prisma_migrations.
 */
export const RECENT_MIGRATIONS = 10;

const HELP: Record<keyof typeof MIGRATION_METRICS, string> = {
  databaseUp: 'Whether the last status check reached the database (1) or not (0)',
  migrations: 'Migrations by state: applied, pending, failed, edited (checksum mismatch), missing (applied but not on disk)',
  migrationDuration: `Time each of the ${RECENT_MIGRATIONS} most recently finished migrations took, from _prisma_migrations started_at to finished_at`,
  migrationFinished: `Unix time (seconds) at which each of the ${RECENT_MIGRATIONS} most recently finished migrations finished`,
  lastRun: 'Unix time (seconds) at which the most recent migration finished',
  lockHeld: 'Whether a session holds the migration lock right now (1) or not (0)',
};

const LABELS: Partial<Record<keyof typeof MIGRATION_METRICS, string[]>> = { migrations: ['state'], migrationDuration: ['name'], migrationFinished: ['name'] };

/** Every migration metric with its help and label names (to register them before the first scrape). */
export function migrationMetricDefinitions(): Array<{ name: string; help: string; labelNames: string[] }> {
  return (Object.keys(MIGRATION_METRICS) as Array<keyof typeof MIGRATION_METRICS>).map((key) => ({ name: MIGRATION_METRICS[key], help: HELP[key], labelNames: LABELS[key] ?? [] }));
}

/** Builds the families from a status result; `null` (database unreachable) yields only `digilog_database_up 0`. */
export function migrationMetrics(status: StatusResult | null): MetricFamily[] {
  const family = (key: keyof typeof MIGRATION_METRICS, samples: MetricSample[]): MetricFamily => ({ name: MIGRATION_METRICS[key], help: HELP[key], samples });
  if (!status) return [family('databaseUp', [{ value: 0 }])];
  const counts: Record<string, number> = {
    applied: status.applied.length,
    pending: status.pending.length,
    failed: status.failed.length,
    edited: status.edited.length,
    missing: status.missingFromDisk.length,
  };
  const lastFinished = status.applied.reduce((latest, m) => Math.max(latest, m.finishedAt.getTime()), 0);
  // Newest first by finish time, then back in name order so the exposition reads like the history.
  const recent = [...status.applied]
    .sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime())
    .slice(0, RECENT_MIGRATIONS)
    .sort((a, b) => status.applied.indexOf(a) - status.applied.indexOf(b));
  return [
    family('databaseUp', [{ value: 1 }]),
    family('migrations', Object.entries(counts).map(([state, value]) => ({ labels: { state }, value }))),
    family(
      'migrationDuration',
      recent.map((m) => ({ labels: { name: m.name }, value: Math.max(0, m.finishedAt.getTime() - m.startedAt.getTime()) / 1000 })),
    ),
    family('migrationFinished', recent.map((m) => ({ labels: { name: m.name }, value: m.finishedAt.getTime() / 1000 }))),
    ...(lastFinished > 0 ? [family('lastRun', [{ value: lastFinished / 1000 }])] : []),
    family('lockHeld', [{ value: status.lockHolder ? 1 : 0 }]),
  ];
}
