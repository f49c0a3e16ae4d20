/**
 * `migrate --dry-run`: what `migrate` would do, computed on a read-only
 * session: the pending migrations, their classification on the live
 * database, and whether the production guard would block. Takes no lock,
 * creates nothing (not even the migrations table or the database).
 */
import type { StatusState } from '../core/diagnose.js';
import { readMigrations } from '../project.js';
import { readStatus } from './check-status.js';
import { checkDeployable, type MigrateOptions } from './migrate.js';
import { planMigrations, type Plan } from './plan.js';
import { withSession } from './session.js';

export interface DryRunResult {
  state: StatusState;
  pending: string[];
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
    const report = await readStatus(session, local);
    const warnings = checkDeployable(report, options);
    const byName = new Map(local.map((m) => [m.name, m]));
    const pending = report.pending.map((name) => byName.get(name)!);
    const plan = await planMigrations(pending, { client: session.client, schema: session.target.schema, largeTableRows: options.largeTableRows });
    return {
      state: report.state,
      pending: report.pending,
      plan,
      blocked: options.production && options.allowDangerous !== true && plan.blocking.length > 0,
      warnings,
      backupDir: pending.length > 0 ? (options.backupDir ?? null) : null,
      database: session.target.label,
    };
  });
}
