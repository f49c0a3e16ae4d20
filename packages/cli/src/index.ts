/**
 * Library entry of @digilog/db: the operations behind the CLI, for services
 * (ensureMigrated at boot) and health checks (checkStatus).
 */
export { ensureMigrated, type EnsureMigratedOptions, type EnsureMigratedResult } from './deploy/ensure-migrated.js';
export { checkStatus, type StatusResult } from './status/check-status.js';
export { migrate, type MigrateOptions, type MigrateResult, type MigrateEvent } from './deploy/migrate.js';
export { resolveMigration, type ResolveAction, type ResolveResult } from './deploy/resolve.js';
export { reset, type ResetOptions, type ResetResult } from './develop/reset.js';
export { runnerOptions, type RunnerOptions } from './config/runner-options.js';
export { diagnose, summarize, type StatusReport, type StatusState } from './status/diagnose.js';
export { loadConfig, type Config } from './config/config.js';
export { resolveProjectPaths } from './read/project.js';
export { readMigrations, type Migration } from './read/migrations-folder.js';
export { DigilogError, EXIT_CODES, exitCodeOf, type ErrorKind } from './errors.js';
export { redact, redactDeep } from './redact.js';
export { PRISMA_ADVISORY_LOCK_KEY } from './db/lock.js';
export { parseTarget, clientConfig, pgConnection, type DatabaseTarget } from './config/target.js';
export { checkHealth, type HealthCheckOptions } from './health/check-health.js';
export { healthBody, httpStatusOf, databaseStatus, type HealthBody, type HealthSnapshot, type ComponentStatus } from './health/body.js';
export { ReplicaProbe, type ReplicaState } from './health/replica.js';
export { parseLsn } from './health/lsn.js';
export { withEmbeddedDefault, requireDatabaseUrl } from './config/config.js';
export { applyDatasource, readDatasource, type Datasource } from './config/datasource.js';
export { createJsonLogger, createJsonLogOutput, silentLogger, type Logger, type LogLevel, type LogFormat, type JsonLogOutput } from './log/json-logger.js';
export { migrationEventLog, type MigrationEventLog, type MigrationClassification } from './output/migration-log.js';
export { migrationMetrics, migrationMetricDefinitions, MIGRATION_METRICS, RECENT_MIGRATIONS, type MetricFamily, type MetricSample } from './metrics/migration-metrics.js';
export { registerFamilies, renderFamilies } from './metrics/prometheus.js';
export { API_KEY_SCOPES, parseApiKey, apiKeySecretMatches, createApiKey, listApiKeys, revokeApiKey, type ApiKeyScope, type ApiKeyInfo, type CreatedApiKey } from './admin/api-keys.js';
