/**
 * `migrate --dry-run`: what `migrate` would do, computed on a read-only
 * session: the pending migrations, their classification on the live
 * database, and whether the production guard would block. Takes no lock,
 * creates nothing (not even the migrations table or the database).
 */
import type { StatusState } from '../status/diagnose.js';
import { readMigrations } from '../read/migrations-folder.js';
import { prepareDeploy, type MigrateOptions } from './migrate.js';
import { isBlocked, type Plan } from '../plan/plan.js';
import { withSession } from '../db/session.js';

export interface DryRunResult {
  state: StatusState;
  plan: Plan;
  /** The production guard would refuse (exit 4). */
  blocked: boolean;
  warnings: string[];
  /** Where `migrate` would write its backup, if it would. */
  backupDir: string | null;
  database: string;
}

/** Plans a deploy without changing the database. Throws what `migrate` would throw before applying (P3009, P3005, …). */
export async function dryRun(options: MigrateOptions): Promise<DryRunResult> {
  const local = readMigrations(options.migrationsDir);
  return withSession(options, async (session) => {
    const { report, warnings, plan } = await prepareDeploy(session, local, options);
    return {
      state: report.state,
      plan,
      blocked: isBlocked(plan, { production: options.production, allowDangerous: options.allowDangerous === true }),
      warnings,
      backupDir: plan.steps.length > 0 ? (options.backupDir ?? null) : null,
      database: session.target.label,
    };
  });
}
