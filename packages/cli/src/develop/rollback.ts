/**
 * `rollback --to <migration> | --last N`: the applied migrations after the target are undone by
 * ONE new forward migration, `<timestamp>_rollback_to_<target>/migration.sql`, so the history
 * stays append-only and every environment (real Prisma included) applies the same rollback with
 * `migrate deploy`. Its SQL is each undone migration's committed down.sql, or the schema engine's
 * diff over the history where there is none (engine/rollback-script.ts); it is classified against
 * the live database (a dropped column that holds data is Dangerous, with the count), refused in
 * production unless acknowledged, shown for review, then written with schema.prisma set back to
 * the target, and applied under the migration lock by the deploy itself (deployLocked).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withAllowFlags } from '../plan/acknowledgements.js';
import type { StatusReport } from '../status/diagnose.js';
import { adjustDownSql, statementsOf } from '../plan/down-steps.js';
import { downSegments, rollbackHeader, rollbackMigrationName, selectRollback, type RollbackSelector } from '../plan/rollback-plan.js';
import { readConstraintIndexes, readSchemaObjects } from '../db/schema-objects.js';
import { readDownFile } from '../engine/down-script.js';
import { computeRollbackScript } from '../engine/rollback-script.js';
import { DigilogError } from '../errors.js';
import { readMigrations, toMigration } from '../read/migrations-folder.js';
import { readStatus } from '../status/check-status.js';
import { checkDeployable } from '../deploy/deployable.js';
import { deployLocked, withMigrationLock, type MigrateOptions, type MigrateResult } from '../deploy/migrate.js';
import { guardDangerous, planSteps, readAcknowledgements, type Plan } from '../plan/plan.js';
import { withSession, type Session } from '../db/session.js';

export interface RollbackOptions extends MigrateOptions {
  selector: RollbackSelector;
  /** Write the migration (and schema.prisma) but do not apply it. */
  createOnly: boolean;
  shadowDatabaseUrl: string | undefined;
  /** Shown the prepared rollback before anything is written; throwing stops it with nothing changed (the prompt). */
  review?: (rollback: PreparedRollback) => Promise<void>;
  /** The clock for the folder's timestamp (tests). */
  now?: Date;
}

/** The rollback as reviewed: nothing is written yet. */
export interface PreparedRollback {
  target: string;
  /** Undone migrations, newest first. */
  undone: string[];
  /** Where each undone migration's down SQL comes from. */
  sources: Array<{ migration: string; downSql: 'committed' | 'computed' }>;
  /** The new migration's folder name and SQL. */
  migration: string;
  sql: string;
  /** Its classification against the live database. */
  plan: Plan;
  /** What the rollback does not undo (data changes, functions, …), and introspection's warnings. */
  notes: string[];
  /** Whether schema.prisma changes (false without a schema file). */
  schemaChanges: boolean;
}

export interface RollbackResult extends Partial<PreparedRollback> {
  action: 'nothing-to-undo' | 'created' | 'created-and-applied';
  target: string;
  undone: string[];
  /** Absolute path of the written migration.sql, or null. */
  path: string | null;
  /** schema.prisma when it was set back, else null. */
  schemaPath: string | null;
  applied: MigrateResult | null;
  database: string;
}

/** Prepares, reviews, writes and (unless createOnly) applies a rollback. Throws typed errors; nothing is written before review. */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const local = readMigrations(options.migrationsDir);
  if ('to' in options.selector && !local.some((m) => m.name === (options.selector as { to: string }).to)) {
    selectRollback([], local.map((m) => m.name), options.selector); // throws the unknown-migration error before connecting
  }
  return withSession(options, async (session) => {
    const report = await readStatus(session, local, options.migrationBudgetMs);
    const applied = report.applied.map((a) => a.name);
    const selection = selectRollback(applied, local.map((m) => m.name), options.selector);
    assertRollbackable(report, options);
    const base = { target: selection.target, undone: [...selection.undo].reverse(), path: null, schemaPath: null, applied: null, database: session.target.label };
    if (selection.undo.length === 0) return { ...base, action: 'nothing-to-undo' as const };
    const segments = downSegments(selection, (m) => readDownFile(options.migrationsDir, m) !== null);
    // The live catalog is read while the engine replays the history (its session is otherwise idle).
    const reading = (async () => ({ objects: await readSchemaObjects(session.client), constraints: await readConstraintIndexes(session.client, session.target.schema) }))();
    reading.catch(() => {});
    const script = await computeRollbackScript({ ...options, databaseUrl: options.target.url, selection, segments });
    const undone = local.filter((m) => selection.undo.includes(m.name));
    const now = await reading;
    const { body, notes } = await adjustDownSql(script.parts.join('\n'), undone, { now, target: script.target });
    const currentSchema = options.schemaPath ? readFileSync(options.schemaPath, 'utf8') : null;
    const schemaChanges = script.schema !== null && script.schema !== currentSchema;
    const sources = segments.flatMap((s) => s.migrations.map((migration) => ({ migration, downSql: s.source })));
    const preparedBase = { undone: base.undone, sources, notes: [...notes, ...script.warnings], schemaChanges };
    if ((await statementsOf(body)).length === 0) return { ...base, ...preparedBase, action: 'nothing-to-undo' as const };

    const name = rollbackMigrationName(selection.target, local.map((m) => m.name), options.now ?? new Date());
    const path = join(options.migrationsDir, name, 'migration.sql');
    const classify = async (allow: string[]) => {
      const sql = `${rollbackHeader(selection, segments, allow)}${body}`;
      const candidate = toMigration(name, path, sql);
      const acknowledgements = withAllowFlags(readAcknowledgements(options.migrationsDir), options.allow ?? []);
      return { sql, plan: await planSteps([candidate], { client: session.client, schema: session.target.schema, largeTableRows: options.largeTableRows, acknowledgements }) };
    };
    let { sql, plan } = await classify([]);
    // Acknowledged on the command line: the new file says so itself (it is applied nowhere yet), so every environment's deploy accepts it.
    if (options.allowDangerous && plan.blocking.length > 0) ({ sql, plan } = await classify([...new Set(plan.blocking.map((b) => b.rule))]));
    if (!options.createOnly) guardDangerous(plan, { production: options.production, allowDangerous: false });
    const prepared: PreparedRollback = { target: selection.target, ...preparedBase, migration: name, sql, plan };
    await options.review?.(prepared);

    const restore = writeRollback(options, name, sql, schemaChanges ? script.schema : null);
    const written = { ...base, ...prepared, path, schemaPath: schemaChanges ? options.schemaPath! : null };
    if (options.createOnly) return { ...written, action: 'created' as const };
    const result = await withMigrationLock(session, options, async (lockWaitMs) => {
      await assertUnchanged(session, options, applied, name, restore);
      return deployLocked(session, options, { local: readMigrations(options.migrationsDir), lockWaitMs });
    });
    return { ...written, action: 'created-and-applied' as const, applied: result };
  });
}

/** A rollback starts from a fully deployed, intact history; anything else is refused with what to do. */
function assertRollbackable(report: StatusReport, options: RollbackOptions): void {
  checkDeployable(report, { ...options, allowModifiedHistory: false });
  if (report.missingFromDisk.length > 0) {
    throw new DigilogError('history-mismatch', `Applied migrations are missing from the migrations folder: ${report.missingFromDisk.join(', ')}; a rollback computed from an incomplete history would be wrong`, {
      hint: 'Roll back from a checkout that has every applied migration.',
      details: { missingFromDisk: report.missingFromDisk },
    });
  }
  if (report.pending.length > 0) {
    throw new DigilogError('pending', `${report.pending.length} migration(s) are not applied yet (${report.pending.map((m) => m.name).join(', ')}): roll back a fully deployed history`, {
      hint: 'Apply them first (`digilog-db migrate`), or remove the folders that are not meant to be deployed.',
      details: { pending: report.pending.map((m) => m.name) },
    });
  }
}

/** Writes the migration folder and schema.prisma; returns how to undo both (a rollback that cannot be applied leaves nothing behind). */
function writeRollback(options: RollbackOptions, name: string, sql: string, schema: string | null): () => void {
  const folder = join(options.migrationsDir, name);
  if (existsSync(folder)) throw new DigilogError('usage', `Migration folder ${name} already exists`, { hint: 'Wait a second and run again.' });
  const previousSchema = schema !== null && options.schemaPath ? readFileSync(options.schemaPath, 'utf8') : null;
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'migration.sql'), sql);
  if (schema !== null && options.schemaPath) writeFileSync(options.schemaPath, schema);
  return () => {
    rmSync(folder, { recursive: true, force: true });
    if (previousSchema !== null && options.schemaPath) writeFileSync(options.schemaPath, previousSchema);
  };
}

/** Under the lock: the database must still be where the rollback was computed from (another deploy may have run meanwhile). */
async function assertUnchanged(session: Session, options: RollbackOptions, applied: readonly string[], name: string, restore: () => void): Promise<void> {
  const report = await readStatus(session, readMigrations(options.migrationsDir), options.migrationBudgetMs);
  const same = report.applied.map((a) => a.name).join('\n') === applied.join('\n') && report.pending.map((m) => m.name).join('\n') === name && report.failed.length === 0;
  if (same) return;
  restore();
  throw new DigilogError('history-mismatch', 'The database changed while the rollback was prepared (another deploy ran?); nothing was written or applied', {
    hint: 'Run the rollback again.',
  });
}
