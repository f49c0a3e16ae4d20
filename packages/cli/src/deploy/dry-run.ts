/**
 * `migrate --dry-run`: what `migrate` would do, computed on a read-only
 * session: the pending migrations, their classification on the live
 * database, and whether the production guard would block. Takes no lock,
 * creates nothing (not even the migrations table or the database). With a
 * scratch database (`--trace`), the pending migrations then run there, traced.
 */
import type { StatusState } from '../status/diagnose.js';
import { readMigrations } from '../read/migrations-folder.js';
import { prepareDeploy, type MigrateOptions } from './migrate.js';
import { isBlocked, type Plan } from '../plan/plan.js';
import { withSession } from '../db/session.js';
import { databaseIdentity } from '../db/database-contents.js';
import { judgeOnline } from '../online/stage.js';
import type { OnlinePlan } from '../online/rewrite.js';
import type { DatabaseTarget } from '../config/target.js';
import type { StatementTrace } from '../apply/statement-trace.js';
import type { ScratchTrace } from './scratch-trace.js';

export interface DryRunOptions extends MigrateOptions {
  /** `--trace`: run the pending migrations on this empty database, traced (the target is only read). */
  scratch?: DatabaseTarget;
  /** Each traced statement as it is recorded on the scratch database (the JSON log). */
  onTrace?: (trace: StatementTrace) => void;
}

export interface DryRunResult {
  state: StatusState;
  plan: Plan;
  /** The production guard would refuse (exit 4). */
  blocked: boolean;
  warnings: string[];
  /** With --online: what each pending migration runs instead, statement by statement. */
  online?: Array<{ migration: string } & OnlinePlan>;
  /** Where `migrate` would write its backup, if it would. */
  backupDir: string | null;
  database: string;
  /** With a scratch database: what the pending migrations did there, statement by statement. */
  trace?: ScratchTrace;
}

/** Plans a deploy without changing the database. Throws what `migrate` would throw before applying (P3009, P3005, …). */
export async function dryRun(options: DryRunOptions): Promise<DryRunResult> {
  const local = readMigrations(options.migrationsDir);
  const result = await withSession(options, async (session) => {
    const { report, warnings, plan: planned, online } = await prepareDeploy(session, local, options);
    // With --online the guard judges what will run, and the plan shows it.
    const plan = online ? judgeOnline(planned, online) : planned;
    return {
      report,
      planned,
      identity: options.scratch ? await databaseIdentity(session.client) : undefined,
      state: report.state,
      plan,
      ...(online ? { online: [...online].map(([migration, form]) => ({ migration, ...form })) } : {}),
      blocked: isBlocked(plan, { production: options.production, allowDangerous: options.allowDangerous === true }),
      warnings,
      backupDir: plan.steps.length > 0 ? (options.backupDir ?? null) : null,
      database: session.target.label,
    };
  });
  const { report, planned, identity, ...dry } = result;
  // The target's session is closed first: the scratch run never holds anything open on the target.
  if (!options.scratch || planned.steps.length === 0) return dry;
  const trace = await (await import('./scratch-trace.js')).traceOnScratch(options, options.scratch, { report, local, plan: planned, targetIdentity: identity!, ...(options.onTrace ? { onTrace: options.onTrace } : {}) });
  return { ...dry, trace };
}
