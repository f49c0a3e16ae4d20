/**
 * ensureMigrated(): what a service calls at boot. Migrates when AUTO_MIGRATE=true
 * or NODE_ENV=production, otherwise only reports. Never throws for expected
 * failures: the caller decides between failing fast and starting degraded.
 */
import { loadConfig, type Config } from '../config/config.js';
import { asDigilogError } from '../db/connect.js';
import { resolveProjectPaths, type PathOptions } from '../read/project.js';
import { redact } from '../redact.js';
import { dirname, join } from 'node:path';
import { chooseBackupDir } from './backup.js';
import { checkStatus, type StatusResult } from '../status/check-status.js';
import { migrate, type MigrateEvent, type MigrateResult } from './migrate.js';
import { runnerOptions, type RunnerOptions } from '../config/runner-options.js';

export interface EnsureMigratedOptions extends PathOptions {
  /** Defaults to process.env; read once, validated with zod. */
  env?: Record<string, string | undefined>;
  /** Already validated config (takes precedence over env). */
  config?: Config;
  /** Overrides the environment's decision. */
  migrate?: boolean;
  /** Connection attempts while the database starts (default 8, about 30 s with backoff). */
  connectRetries?: number;
  onEvent?: (event: MigrateEvent) => void;
  /** Abort on SIGTERM during boot: the current migration finishes, no other starts (result: failed, kind `interrupted`). */
  signal?: AbortSignal;
}

export interface EnsureMigratedError {
  kind: string;
  prismaCode: string | undefined;
  message: string;
  hint: string | undefined;
  exitCode: number;
}

export interface EnsureMigratedResult {
  action: 'applied' | 'up-to-date' | 'skipped' | 'failed';
  /** Names applied by this call. */
  applied: string[];
  /** Names still pending (when skipped, or after a failure). */
  pending: string[];
  /** Why migration was skipped, or what failed. */
  reason: string;
  durationMs: number;
  migrate?: MigrateResult;
  status?: StatusResult;
  error?: EnsureMigratedError;
}

/** Applies pending migrations when the environment asks for it. Resolves with a structured result; never rejects for expected failures. */
export async function ensureMigrated(options: EnsureMigratedOptions = {}): Promise<EnsureMigratedResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let runner: RunnerOptions | undefined;
  try {
    const config = options.config ?? loadConfig(options.env ?? process.env);
    runner = runnerOptions(config, resolveProjectPaths(options), { connectRetries: options.connectRetries ?? 8 });
    const shouldMigrate = options.migrate ?? (config.autoMigrate || config.isProduction);
    if (!shouldMigrate) {
      const status = await checkStatus(runner);
      return {
        action: status.state === 'upToDate' ? 'up-to-date' : 'skipped',
        applied: [],
        pending: status.pending.map((m) => m.name),
        reason: status.state === 'upToDate' ? status.summary : `auto-migration is off (AUTO_MIGRATE=false, NODE_ENV=${config.nodeEnv}): ${status.summary}`,
        durationMs: elapsed(),
        status,
      };
    }
    // Same policy as `digilog-db migrate`: the production guard applies, and a backup is taken
    // in production when pg_dump is installed (DIGILOG_BACKUP=false turns it off).
    const projectDir = dirname(runner.schemaPath ? dirname(runner.schemaPath) : runner.migrationsDir);
    const backupDir = chooseBackupDir(undefined, config, join(projectDir, '.digilog', 'backups'));
    const result = await migrate({ ...runner, ...(backupDir ? { backupDir } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    return {
      action: result.action,
      applied: result.applied.map((a) => a.name),
      pending: [],
      reason: result.action === 'applied' ? `applied ${result.applied.length} migration(s)` : 'Database is up to date!',
      durationMs: elapsed(),
      migrate: result,
    };
  } catch (thrown) {
    const error = asDigilogError(thrown);
    const pending = runner ? await checkStatus(runner).then((s) => s.pending.map((m) => m.name), () => []) : [];
    return {
      action: 'failed',
      applied: [],
      pending,
      reason: redact(error.message),
      durationMs: elapsed(),
      error: {
        kind: error.kind,
        prismaCode: error.prismaCode,
        message: redact(error.message),
        hint: error.hint && redact(error.hint),
        exitCode: error.exitCode,
      },
    };
  }
}
