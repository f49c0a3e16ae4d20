/**
 * The status checker: one function used by `status`, `health`, `migrate` and
 * the API's health endpoints. Reads the folder and the table, then diagnoses.
 */
import { diagnose, summarize, type StatusReport } from './diagnose.js';
import { findLockHolder, type LockHolder } from '../db/lock.js';
import type { Migration } from '../read/migrations-folder.js';
import { readInvalidIndexes } from '../db/table-stats.js';
import { readMigrations } from '../read/migrations-folder.js';
import { readRollbackTargets, type RollbackAvailability } from './rollback-targets.js';
import type { RunnerOptions } from '../config/runner-options.js';
import { withSession, type Session } from '../db/session.js';

export interface StatusResult extends StatusReport {
  /** Prisma-style one-line summary ("Database is up to date!"). */
  summary: string;
  /** `host:port/database`, never with credentials. */
  database: string;
  schema: string;
  migrationsDir: string;
  /** Who holds the migration lock right now, if anyone. */
  lockHolder: LockHolder | null;
  /** Indexes PostgreSQL marks INVALID in the schema (left by a failed or interrupted CREATE INDEX CONCURRENTLY). */
  invalidIndexes: string[];
  /** Where `rollback --to` is possible and what it would drop (when asked for: `status --json`). */
  rollback?: RollbackAvailability;
  durationMs: number;
}

/** Reads state on an open session (used inside migrate too). */
export async function readStatus(session: Session, local: Migration[], budgetMs?: number): Promise<StatusReport> {
  const rows = await session.history.readRows();
  // Read whether or not the history table exists: the report (status --json) states it as a fact.
    const schemaEmpty = await session.history.schemaIsEmpty();
  return diagnose({ local, rows, schemaEmpty, ...(budgetMs === undefined ? {} : { budgetMs }) });
}

/** Checks the database against the migrations folder. Throws `unreachable` or `usage` errors; never changes anything. */
export async function checkStatus(options: RunnerOptions, { rollbackTargets = false }: { rollbackTargets?: boolean } = {}): Promise<StatusResult> {
  const started = performance.now();
  // Read the folder first: a missing folder is reported without touching the network.
  const local = readMigrations(options.migrationsDir);
  return withSession(options, async (session) => {
    // A migration being applied has an unfinished row while its runner holds the lock: that is
    // "running", not "failed" (else every replica's health turns 503 during each deploy's migration).
    // The lock is read before the rows, and again if an unfinished row shows up in between.
    let lockHolder = await findLockHolder(session.client);
    const rows = await session.history.readRows();
    if (!lockHolder && rows?.some((row) => row.finishedAt === null && row.rolledBackAt === null)) lockHolder = await findLockHolder(session.client);
    // Read whether or not the history table exists: the report (status --json) states it as a fact.
    const schemaEmpty = await session.history.schemaIsEmpty();
    const report = diagnose({ local, rows, schemaEmpty, migrationRunning: lockHolder !== null, budgetMs: options.migrationBudgetMs });
    const invalidIndexes = await readInvalidIndexes(session.client, session.target.schema);
    const rollback = rollbackTargets ? await readRollbackTargets(session.client, session.target.schema, report, local, options.migrationsDir) : undefined;
    return {
      ...(rollback ? { rollback } : {}),
      ...report,
      summary: summarize(report),
      database: session.target.label,
      schema: session.target.schema,
      migrationsDir: options.migrationsDir,
      lockHolder,
      invalidIndexes,
      durationMs: performance.now() - started,
    };
  });
}
