/**
 * `dev`: like `prisma migrate dev`. The engine diagnoses the database
 * against the history (a drifted database is explained, never reset),
 * applies pending migrations, and writes the new migration from the schema
 * diff (createMigrationFromSchema); digilog-db then shows the engine's
 * data-loss warnings, asks, and applies it with its own runner.
 */
import { createMigrationFromSchema } from '../engine/create-migration.js';
import type { LockHolder } from '../db/lock.js';
import { withEngineSignals } from '../engine/with-engine.js';
import { DigilogError } from '../errors.js';
import { refuseInProduction } from './production-guard.js';
import { migrate, type MigrateOptions, type MigrateResult } from '../deploy/migrate.js';

export interface DevOptions extends MigrateOptions {
  name: string;
  createOnly: boolean;
  shadowDatabaseUrl: string | undefined;
  schemaPath: string;
  /** Asked when the new migration would lose data; resolves true to apply. */
  confirmDataLoss: (warnings: string[]) => Promise<boolean>;
  force?: boolean;
}

export interface DevResult {
  action: 'created' | 'created-and-applied' | 'in-sync';
  migration: string | null;
  sql: string | null;
  /** The down.sql written beside the new migration.sql; null when the engine could not compute it (see downProblem). */
  downPath?: string | null;
  downProblem?: string;
  warnings: string[];
  /** Migrations of the folder that were pending and got applied first. */
  appliedPending: string[];
  applied: MigrateResult | null;
}

/**
 * The engine's own data-loss findings, as it writes them at the top of a
 * generated script (a `Warnings:` comment block with one `- …` item each).
 */
export function dataLossWarnings(script: string): string[] {
  const header = /^\s*\/\*\s*\n\s*Warnings:\s*\n([\s\S]*?)\*\//.exec(script);
  if (!header) return [];
  return header[1]!
    .split(/\n\s*-\s+/)
    .map((item) => item.replace(/\s+/g, ' ').replace(/^-\s*/, '').trim())
    .filter(Boolean);
}

export async function dev(options: DevOptions): Promise<DevResult> {
  refuseInProduction(options, 'run `dev`', 'dev is a development tool (it creates and drops a shadow database). Deploy with `digilog-db migrate`.');
  // The lock before the engine's diagnosis: a migration running meanwhile has an unfinished row the engine would call failed (and advise a reset).
  const migrationLock = { waitMs: options.lockWaitMs, onWait: (holder: LockHolder | null) => options.onEvent?.({ type: 'lock-wait', holder }) };
  const { migration, appliedPending } = await withEngineSignals({ ...options, databaseUrl: options.target.url, migrationLock, keepShadows: true }, (adapters) =>
    createMigrationFromSchema({
      adapters,
      connectionString: options.target.url,
      schemaPath: options.schemaPath,
      migrationsDir: options.migrationsDir,
      name: options.name,
      shadowDatabaseUrl: options.shadowDatabaseUrl,
    }),
  );
  if (!migration) return { action: 'in-sync', migration: null, sql: null, warnings: [], appliedPending, applied: null };
  const warnings = dataLossWarnings(migration.sql);
  const result = { migration: migration.name, sql: migration.sql, downPath: migration.downPath, ...(migration.downProblem ? { downProblem: migration.downProblem } : {}), warnings, appliedPending };
  if (options.createOnly) return { ...result, action: 'created', applied: null };
  if (warnings.length > 0 && !(await options.confirmDataLoss(warnings))) return { ...result, action: 'created', applied: null };
  return { ...result, action: 'created-and-applied', applied: await migrate(options) };
}
