/**
 * GET /metrics (Prometheus text format): the migration metrics of the shared
 * status checker (read from the health monitor's cached snapshot, so a scrape
 * costs the database nothing), health per component, what the boot-time
 * migration did, and the pg pools' counts. Values are read at scrape time.
 */
import { databaseStatus, healthBody, migrationMetricDefinitions, migrationMetrics, redact, registerFamilies, type HealthSnapshot } from '@digilog/db';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSources {
  health: { current(): HealthSnapshot; failedChecks: number };
  /** The pg pools by name (primary, replica). */
  pools: () => Record<string, pg.Pool>;
  /** What ensureMigrated() did at boot. */
  boot: { lockWaitMs: number; durationMs: number; lockRetries?: () => number };
}

/** Health as a number: 1 healthy, 0.5 degraded, 0 unhealthy (alert on `< 1` or `== 0`). */
const HEALTH_VALUE = { healthy: 1, degraded: 0.5, unhealthy: 0 } as const;

export interface Metrics {
  registry: Registry;
  /** The exposition text, redacted like every other output. */
  render(): Promise<string>;
  /** Observed by the access log (access-log.ts) once per request. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
}

/** Seconds: a settings read takes milliseconds; the top buckets catch lock waits and a slow database. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics({ health, pools, boot }: MetricsSources): Metrics {
  const registry = new Registry();
  // Process metrics (CPU, memory, event loop lag) under the usual names, for the same dashboards.
  collectDefaultMetrics({ register: registry });
  registerFamilies(registry, migrationMetricDefinitions(), () => migrationMetrics(health.current().status));

  new Gauge({
    name: 'digilog_health_status',
    help: 'Health per component: 1 healthy, 0.5 degraded, 0 unhealthy (overall is what GET /api/v1/health answers)',
    labelNames: ['component'],
    registers: [registry],
    collect() {
      this.reset();
      const snapshot = health.current();
      this.set({ component: 'database' }, HEALTH_VALUE[databaseStatus(snapshot).status]);
      this.set({ component: 'overall' }, HEALTH_VALUE[healthBody(snapshot, 'overall').status]);
      if (snapshot.replica) {
        this.set({ component: 'replica' }, snapshot.replica.reachable && snapshot.replica.hasLatestMigration !== false ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'digilog_health_check_failures_total',
    help: 'Background health checks that found the database unhealthy (unreachable, pending, failed or unmanaged)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(health.failedChecks);
    },
  });
  new Gauge({
    name: 'digilog_migration_lock_wait_seconds',
    help: "How long this process's boot-time migration waited for the migration lock",
    registers: [registry],
    collect() {
      this.set(boot.lockWaitMs / 1000);
    },
  });
  new Counter({
    name: 'digilog_migration_lock_retries_total',
    help: "Lock timeouts this process's boot-time migration retried (each attempt waited one lock_timeout; see the migration.lock_retry log lines)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(boot.lockRetries?.() ?? 0);
    },
  });
  new Gauge({
    name: 'digilog_migration_last_run_duration_seconds',
    help: "Duration of this process's boot-time ensureMigrated() (status check, or lock + migrations)",
    registers: [registry],
    collect() {
      this.set(boot.durationMs / 1000);
    },
  });
  const poolGauge = (name: string, help: string, read: (pool: pg.Pool) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [pool, p] of Object.entries(pools())) this.set({ pool }, read(p));
      },
    });
  // Not `_total`: an open-connection count goes up and down (a gauge; `_total` means a counter).
  poolGauge('digilog_db_pool_connections', 'Connections open in the pg pool (busy + idle)', (p) => p.totalCount);
  poolGauge('digilog_db_pool_connections_idle', 'Idle connections in the pg pool', (p) => p.idleCount);
  poolGauge('digilog_db_pool_requests_waiting', 'Queries waiting for a pg pool connection', (p) => p.waitingCount);

  const httpRequestDuration = new Histogram({
    name: 'digilog_http_request_duration_seconds',
    help: 'HTTP requests by method, matched route pattern ("unmatched" when none matched) and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });

  return { registry, render: async () => redact(await registry.metrics()), httpRequestDuration };
}
