/**
 * `migrate`: deploy semantics of `prisma migrate deploy` (apply pending
 * migrations, never generate, never reset), under Prisma's advisory lock,
 * with digilog-db's extra guards (edited history, out-of-order in production).
 */
import type { StatusReport } from '../status/diagnose.js';
import type { Migration } from '../read/migrations-folder.js';
import { recordStart, type ApplyHooks, type AppliedResult } from '../apply/apply-step.js';
import { resolveRolledBack } from '../status/next-steps.js';
import pg from 'pg';
import { clientConfig, type DatabaseTarget } from '../config/target.js';
import { acquireMigrationLock, releaseMigrationLock, type LockHolder } from '../db/lock.js';
import { invalidIndexWarnings, readInvalidIndexes } from '../db/table-stats.js';
import { DigilogError } from '../errors.js';
import { readMigrations } from '../read/migrations-folder.js';
import { readStatus } from '../status/check-status.js';
import { pendingUpTo } from './migrate-to.js';
import { takeBackup, type BackupResult } from './backup.js';
import { loadParser } from '../plan/execution-mode.js';
import { checkDeployable } from './deployable.js';
import { guardDangerous, planSteps, readAcknowledgements, type Plan, type Step, type StepLimits } from '../plan/plan.js';
import { withAllowFlags } from '../plan/acknowledgements.js';
import { formatDuration } from '../read/directives.js';
import type { RunnerOptions } from '../config/runner-options.js';
import { withSession, type Session } from '../db/session.js';
import type { LockEvent } from '../online/lock-retry.js';
import { serverLockTimeoutMs } from '../online/attempt-timing.js';
import { judgeOnline, planOnline, resumableOnline, runStep, type OnlineForms } from '../online/stage.js';
import type { OnlineUnitEvent } from '../online/apply-online.js';
import type { InterruptedOnline } from '../online/progress.js';
import { Tracer } from '../online/trace.js';
import type { StatementTrace } from '../apply/statement-trace.js';

export type MigrateEvent =
  | { type: 'lock-wait'; holder: LockHolder | null }
  | { type: 'lock-acquired'; waitedMs: number }
  | { type: 'plan'; plan: Plan }
  | { type: 'backup-start'; dir: string }
  | { type: 'backup-done'; backup: BackupResult }
  | { type: 'migration-start'; name: string; index: number; total: number }
  | { type: 'migration-done'; result: AppliedResult; index: number; total: number }
  | { type: 'warning'; message: string }
  | LockEvent
  | OnlineUnitEvent
  | { type: 'trace'; trace: StatementTrace };

export interface MigrateOptions extends RunnerOptions {
  /** Apply even if an applied migration's file was edited since. */
  allowModifiedHistory?: boolean;
  /** Apply a migration older than the newest applied one even in production. */
  allowOutOfOrder?: boolean;
  /** In production, apply Dangerous changes the files do not acknowledge. */
  allowDangerous?: boolean;
  /** In production, apply even though applied migrations are missing from the migrations folder. */
  allowMissingHistory?: boolean;
  /** Acknowledgements `<migration>:<rule>` on top of the migrations folder's digilog.acknowledgements. */
  allow?: string[];
  /** Apply the pending migrations only up to and including this one (a step-wise deploy). */
  to?: string;
  /** Write a pg_dump custom-format dump into this folder before applying anything. */
  backupDir?: string;
  onEvent?: (event: MigrateEvent) => void;
  /** When aborted (SIGTERM in a rolling deploy), the current migration finishes and no further one starts. */
  signal?: AbortSignal;
  /**
   * Compile PostgreSQL's parser (WebAssembly, ~40 ms) while connecting, before anyone knows whether
   * anything is pending: the CLI's `migrate` usually has work to do; a service's boot usually has not
   * (ensureMigrated leaves it off, so an up-to-date replica never pays for it).
   */
  preloadParser?: boolean;
  /** Test-only fault injection. */
  hooks?: ApplyHooks;
  /** `--trace`: record the locks, rewrites and duration of each statement (in the result, the log and the output). */
  trace?: boolean;
}

export interface MigrateResult {
  action: 'applied' | 'up-to-date';
  applied: AppliedResult[];
  /** Migrations that were already applied when the lock was taken. */
  alreadyApplied: number;
  warnings: string[];
  /** The classification of what was pending when the lock was taken. */
  plan: Plan;
  backup: BackupResult | null;
  lockWaitMs: number;
  durationMs: number;
  database: string;
}

/** Applies every pending migration. Throws typed errors (P3005, P3009, P3018, P1002, …). */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const started = performance.now();
  // Read the folder first: a missing folder or provider mismatch is reported without touching the network.
  const local = readMigrations(options.migrationsDir);
  if (options.preloadParser && local.length > 0) void loadParser().catch(() => {});
  return withSession(options, (session) => withMigrationLock(session, options, (lockWaitMs) => deployLocked(session, options, { local, started, lockWaitMs })), {
    createDatabase: true,
  });
}

/** Runs fn while this session holds Prisma's migration lock; releases it explicitly afterwards. */
export async function withMigrationLock<T>(
  session: Session,
  options: Pick<MigrateOptions, 'lockWaitMs' | 'onEvent'>,
  fn: (lockWaitMs: number) => Promise<T>,
): Promise<T> {
  const emit = options.onEvent ?? (() => {});
  const lockWaitMs = await acquireMigrationLock(session.client, {
    waitMs: options.lockWaitMs,
    onWait: (holder) => emit({ type: 'lock-wait', holder }),
    openProbe: () => openPoolerProbe(session.target),
  });
  emit({ type: 'lock-acquired', waitedMs: lockWaitMs });
  try {
    return await fn(lockWaitMs);
  } finally {
    await releaseMigrationLock(session.client).catch(() => {});
  }
}

/**
 * A second, short connection to the same URL for the lock's pooler check (no retries: it is
 * optional). Its queries time out client-side, so a full pool that queues it costs seconds, not
 * the pooler's query_wait_timeout.
 */
async function openPoolerProbe(target: DatabaseTarget): Promise<pg.Client> {
  const client = new pg.Client({ ...clientConfig(target, { applicationName: 'digilog-db (pooler check)' }), query_timeout: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** The deploy itself, on a session that already holds the lock. */
export async function deployLocked(
  session: Session,
  options: MigrateOptions,
  { local, started = performance.now(), lockWaitMs = 0 }: { local: Migration[]; started?: number; lockWaitMs?: number },
): Promise<MigrateResult> {
  const emit = options.onEvent ?? (() => {});
  // If this runner dies mid-script, PostgreSQL would otherwise finish the script on its own;
  // with this check (PostgreSQL 14+) it notices the lost client within a second and rolls back.
  await session.client.query(
    `SELECT set_config('client_connection_check_interval', '1000', false) WHERE current_setting('server_version_num')::int >= 140000`,
  );
  // State is read only once the lock is held: another replica may have just applied everything.
  // Classified before anything changes: the production guard must refuse before the first statement.
  const { report, warnings, plan, online, resume } = await prepareDeploy(session, local, options);
  const { steps } = plan;
  for (const message of warnings) emit({ type: 'warning', message });
  if (steps.length > 0) emit({ type: 'plan', plan });
  guardDangerous(online ? judgeOnline(plan, online) : plan, { production: options.production, allowDangerous: options.allowDangerous === true });
  let backup: BackupResult | null = null;
  if (options.backupDir && steps.length > 0) {
    emit({ type: 'backup-start', dir: options.backupDir });
    backup = await takeBackup(options.target, options.backupDir, steps[0]!.migration.name);
    emit({ type: 'backup-done', backup });
  }
  if (!report.tableExists) await session.history.create();
  const timeouts = new SessionTimeouts(session.client);
  const tracer = options.trace ? new Tracer(session.target.schema, () => openPoolerProbe(session.target), (trace) => emit({ type: 'trace', trace })) : undefined;
  const applied: AppliedResult[] = [];
  const newRelations = new Set(steps.flatMap((s) => s.findings.flatMap((f) => (f.rule === 'create-table' && f.table ? [f.table] : []))));
  let current = steps[0] && (resume ? { step: steps[0], id: resume.id } : await recordStart(session.client, session.history, steps[0]));
  for (let index = 0; current; index++) {
    const { step } = current;
    if (options.signal?.aborted) {
      // The next migration's "started" row was committed with the previous one; it never ran.
      await session.history.forgetUnstarted(current.id);
      throw new DigilogError('interrupted', `Stopped by a signal after ${applied.length} of ${steps.length} pending migrations; ${step.migration.name} and later were not started`, {
        hint: 'Nothing is half-applied. Run `digilog-db migrate` again to continue.',
        details: { applied: applied.map((a) => a.name), notStarted: steps.slice(index).map((s) => s.migration.name) },
      });
    }
    await timeouts.set(step.limits);
    emit({ type: 'migration-start', name: step.migration.name, index, total: steps.length });
    const ran = await runStep(current, steps[index + 1], { ...options, session, emit, newRelations, ...(index === 0 && resume ? { resume } : {}), ...(tracer ? { tracer } : {}) }).catch((error: unknown) => {
      throw explainTimeout(error, step.limits);
    });
    const { budgetMs } = step.limits;
    const result = { ...ran.result, budgetMs, slow: budgetMs > 0 && ran.result.durationMs > budgetMs };
    applied.push(result);
    emit({ type: 'migration-done', result, index, total: steps.length });
    if (result.slow) {
      const message = `${result.name} took ${(result.durationMs / 1000).toFixed(1)} s, over its budget of ${formatDuration(budgetMs)}`;
      warnings.push(message);
      emit({ type: 'warning', message });
    }
    current = ran.next;
  }
  return {
    action: applied.length > 0 ? 'applied' : 'up-to-date',
    applied,
    alreadyApplied: report.applied.length,
    warnings,
    plan,
    backup,
    lockWaitMs,
    durationMs: performance.now() - started,
    database: session.target.label,
  };
}

/** What a deploy would do, read on a session without changing anything: status, warnings, pending files and their plan (shared by migrate and --dry-run). */
export async function prepareDeploy(
  session: Session,
  local: Migration[],
  options: MigrateOptions,
): Promise<{ report: StatusReport; warnings: string[]; plan: Plan; online?: OnlineForms; resume?: InterruptedOnline }> {
  let report = await readStatus(session, local, options.migrationBudgetMs);
  // --online continues its own interrupted migration instead of refusing it as failed (P3009).
  const resume = options.online ? await resumableOnline(session, report, local) : undefined;
  if (resume) report = { ...report, state: 'pending', failed: [], pending: [resume.migration, ...report.pending] };
  const warnings = [...checkDeployable(report, options), ...invalidIndexWarnings(await readInvalidIndexes(session.client, session.target.schema))];
  const acknowledgements = withAllowFlags(readAcknowledgements(options.migrationsDir), options.allow ?? []);
  const limits: StepLimits = { lockTimeoutMs: options.lockTimeoutMs, statementTimeoutMs: options.statementTimeoutMs, budgetMs: options.migrationBudgetMs };
  const plan = await planSteps(pendingUpTo(report.pending, local, options.to), { client: session.client, schema: session.target.schema, largeTableRows: options.largeTableRows, acknowledgements, limits });
  return { report, warnings, plan, ...(options.online ? { online: await planOnline(plan) } : {}), ...(resume ? { resume } : {}) };
}

/** Applies lock_timeout (the server's, a margin below one attempt: see serverLockTimeoutMs) and statement_timeout to the session, only when they change. */
class SessionTimeouts {
  private current = '';
  constructor(private readonly client: import('pg').Client) {}
  async set({ lockTimeoutMs, statementTimeoutMs }: { lockTimeoutMs: number; statementTimeoutMs: number }): Promise<void> {
    const wanted = `${lockTimeoutMs}/${statementTimeoutMs}`;
    if (wanted === this.current) return;
    await this.client.query(`SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`, [String(serverLockTimeoutMs(lockTimeoutMs)), String(statementTimeoutMs)]);
    this.current = wanted;
  }
}

/** A migration stopped by lock_timeout, statement_timeout or a missing privilege gets a hint that says which, and what to do. */
function explainTimeout(error: unknown, limits: StepLimits): unknown {
  // Lock retries already explained it (blockers, attempts, budget).
  if (!(error instanceof DigilogError) || error.details.lockRetry) return error;
  const sqlState = error.details.sqlState;
  const name = String(error.details.migration ?? '');
  let why: string | undefined;
  if (sqlState === '55P03') {
    why = `It waited longer than lock_timeout (${formatDuration(limits.lockTimeoutMs)}) for a lock another session holds on a table it changes; it gave up so that traffic does not queue behind it. Retry when the table is quieter, or raise the limit for this migration with "-- digilog:lock-timeout 30s" (or DIGILOG_LOCK_TIMEOUT).`;
  } else if (sqlState === '42501') {
    why = 'The role in DATABASE_URL lacks a privilege this migration needs (SQLSTATE 42501: insufficient privilege). Run migrations with the role that owns the schema, not the application role.';
  } else if (sqlState === '57014') {
    why = `It ran longer than statement_timeout (${formatDuration(limits.statementTimeoutMs)}) and was cancelled. Batch the work, or raise the limit for this migration with "-- digilog:statement-timeout 2h" (or DIGILOG_STATEMENT_TIMEOUT).`;
  }
  if (!why) return error;
  return new DigilogError(error.kind, error.message, {
    prismaCode: error.prismaCode,
    hint: `${why}\nThen: ${resolveRolledBack(name)} && digilog-db migrate`,
    details: { ...error.details, lockTimeoutMs: limits.lockTimeoutMs, statementTimeoutMs: limits.statementTimeoutMs },
    cause: error,
  });
}
