/**
 * `reset`: drop everything in the schema and re-apply every migration, like
 * `prisma migrate reset`. A development tool: refused in production unless forced.
 */
import { quoteIdent } from '../config/target.js';
import { DigilogError } from '../errors.js';
import { refuseInProduction } from './production-guard.js';
import { readMigrations } from '../read/migrations-folder.js';
import { deployLocked, withMigrationLock, type MigrateOptions, type MigrateResult } from '../deploy/migrate.js';
import { withSession } from '../db/session.js';

export interface ResetOptions extends MigrateOptions {
  /** Required in production. The command layer also asks for confirmation (or --yes). */
  force?: boolean;
}

export interface ResetResult extends MigrateResult {
  droppedSchema: string;
}

/** Drops the schema and re-applies all migrations under the migration lock. */
export async function reset(options: ResetOptions): Promise<ResetResult> {
  assertResetAllowed(options);
  const started = performance.now();
  const local = readMigrations(options.migrationsDir);
  return withSession(
    options,
    (session) =>
      withMigrationLock(session, options, async (lockWaitMs) => {
        const schema = quoteIdent(session.target.schema);
        await session.client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};`);
        // The schema was just dropped on purpose: nothing left for the guard or a backup to protect.
        const result = await deployLocked(session, { ...options, allowDangerous: true, backupDir: undefined }, { local, started, lockWaitMs });
        return { ...result, droppedSchema: session.target.schema };
      }),
    { createDatabase: true },
  );
}

/** The production guard, checked before any connection is opened. Pure. */
export function assertResetAllowed(options: Pick<ResetOptions, 'production' | 'force'>): void {
  refuseInProduction(options, 'reset a database', 'reset deletes all data. If you really mean it, pass --force (and confirm, or add --yes).');
}
