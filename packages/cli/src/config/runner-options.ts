/** The one options struct every database operation takes, built from Config and command-line flags. */
import type { Config } from './config.js';
import { requireDatabaseUrl } from './config.js';
import type { ProjectPaths } from '../read/project.js';
import { parseTarget, type DatabaseTarget } from './target.js';

export interface RunnerOptions {
  /** The database, its URL parsed once here: every stage below takes this. */
  target: DatabaseTarget;
  migrationsDir: string;
  schemaPath: string | undefined;
  /** NODE_ENV=production: turns on the production guards. */
  production: boolean;
  lockWaitMs: number;
  connectRetries: number;
  connectTimeoutMs: number;
  /** lock_timeout / statement_timeout of the migration session (ms, 0 = none); a file may override them. */
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** Default expected duration of one migration; slower ones are reported (ms). */
  migrationBudgetMs: number;
  /** Estimated rows from which a table counts as big for the classifier's live-database context. */
  largeTableRows: number;
  /** Shown in pg_stat_activity, so a lock holder can be identified. */
  applicationName: string;
}

/** The database of the configuration, parsed once: the one place a configured URL becomes a DatabaseTarget. Throws `config` when none is set. */
export function requireTarget(config: Config): DatabaseTarget {
  return parseTarget(requireDatabaseUrl(config));
}

/** Defaults for everything but the database and the folder. */
export function runnerOptions(config: Config, paths: ProjectPaths, overrides: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    target: requireTarget(config),
    migrationsDir: paths.migrationsDir,
    schemaPath: paths.schemaPath,
    production: config.isProduction,
    lockWaitMs: config.lockWaitMs,
    connectRetries: config.connectRetries,
    connectTimeoutMs: config.connectTimeoutMs,
    lockTimeoutMs: config.lockTimeoutMs,
    statementTimeoutMs: config.statementTimeoutMs,
    migrationBudgetMs: config.migrationBudgetMs,
    largeTableRows: config.largeTableRows,
    applicationName: `digilog-db pid=${process.pid}`,
    ...overrides,
  };
}
