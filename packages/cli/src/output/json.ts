/**
 * The fixed `--json` documents of the pipeline's commands. Internal types
 * (Migration, Step) may change; these shapes are the public contract, so each
 * key is listed here rather than spread from an internal object.
 */
import type { Plan, Step } from '../plan/plan.js';
import type { DryRunResult } from '../deploy/dry-run.js';
import type { MigrateResult } from '../deploy/migrate.js';
import type { StatusResult } from '../status/check-status.js';
import type { ResetResult } from '../develop/reset.js';
import type { DevResult } from '../develop/dev.js';
import type { RollbackResult } from '../develop/rollback.js';
import type { DownSqlResult } from '../develop/down-sql.js';

/** One planned migration as `plan.migrations[]` shows it. */
export function stepJson(step: Step) {
  return {
    name: step.migration.name,
    path: step.migration.path,
    sql: step.migration.sql,
    worst: step.worst,
    findings: step.findings,
    statements: step.statements.length,
    mode: step.mode,
    ...(step.parseError === undefined ? {} : { parseError: step.parseError }),
  };
}

/** The plan as `migrate --json` and `migrate --dry-run --json` show it. */
export function planJson(plan: Plan) {
  return { migrations: plan.steps.map(stepJson), counts: plan.counts, blocking: plan.blocking, withContext: plan.withContext };
}

/** `status --json`. */
export function statusJson(status: StatusResult) {
  return {
    ok: status.state === 'upToDate',
    state: status.state,
    tableExists: status.tableExists,
    schemaEmpty: status.schemaEmpty,
    localCount: status.localCount,
    applied: status.applied,
    pending: status.pending.map((m) => m.name),
    failed: status.failed,
    edited: status.edited,
    missingFromDisk: status.missingFromDisk,
    renamed: status.renamed,
    outOfOrder: status.outOfOrder,
    slow: status.slow,
    running: status.running,
    summary: status.summary,
    database: status.database,
    schema: status.schema,
    migrationsDir: status.migrationsDir,
    lockHolder: status.lockHolder,
    invalidIndexes: status.invalidIndexes,
    ...(status.rollback ? { rollback: status.rollback } : {}),
    durationMs: status.durationMs,
  };
}

/** `migrate --json` (a successful run; failures are the error document). */
export function migrateJson(result: MigrateResult) {
  return {
    ok: true,
    action: result.action,
    applied: result.applied,
    alreadyApplied: result.alreadyApplied,
    warnings: result.warnings,
    plan: planJson(result.plan),
    backup: result.backup,
    lockWaitMs: result.lockWaitMs,
    durationMs: result.durationMs,
    database: result.database,
  };
}

/** `migrate --dry-run --json`. */
export function dryRunJson(result: DryRunResult) {
  return {
    ok: !result.blocked,
    dryRun: true,
    state: result.state,
    pending: result.plan.steps.map((s) => s.migration.name),
    plan: planJson(result.plan),
    ...(result.online ? { online: result.online } : {}),
    ...(result.trace ? { trace: { database: result.trace.database, replayed: result.trace.replayed, applied: result.trace.applied, leftover: result.trace.leftover } } : {}),
    blocked: result.blocked,
    warnings: result.warnings,
    backupDir: result.backupDir,
    database: result.database,
  };
}

/** `reset --json`: migrate's document plus the dropped schema and whether the seed ran. */
export function resetJson(result: ResetResult, seeded: boolean) {
  return { ...migrateJson(result), droppedSchema: result.droppedSchema, seeded };
}

/** `dev --json`; the migrate run inside it, if any, in migrate's document (without its ok). */
export function devJson(result: DevResult) {
  return {
    ok: true,
    action: result.action,
    migration: result.migration,
    sql: result.sql,
    downPath: result.downPath ?? null,
    warnings: result.warnings,
    appliedPending: result.appliedPending,
    applied: result.applied ? withoutOk(migrateJson(result.applied)) : null,
  };
}

/** `rollback --json`: what it undid and how; the deploy inside it, if any, in migrate's document (without its ok). */
export function rollbackJson(result: RollbackResult) {
  return {
    ok: true,
    action: result.action,
    target: result.target,
    undone: result.undone,
    migration: result.migration ?? null,
    path: result.path,
    sql: result.sql ?? null,
    sources: result.sources ?? [],
    plan: result.plan ? planJson(result.plan) : null,
    notes: result.notes ?? [],
    schemaChanges: result.schemaChanges ?? false,
    schemaPath: result.schemaPath,
    applied: result.applied ? withoutOk(migrateJson(result.applied)) : null,
    database: result.database,
  };
}

/** `down-sql --json`. */
export function downSqlJson(result: DownSqlResult) {
  return { ok: true, migration: result.migration, path: result.path, sql: result.sql, notes: result.notes };
}

function withoutOk<T extends { ok: unknown }>(document: T): Omit<T, 'ok'> {
  const copy: Partial<T> = { ...document };
  delete copy.ok;
  return copy as Omit<T, 'ok'>;
}
