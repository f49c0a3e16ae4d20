/**
 * `migrate --dry-run --trace`: the pending migrations run, traced, on a scratch database instead
 * of the target. The scratch database must be empty; the history the target has applied is
 * replayed on it first (as a shadow database replays a history), so the pending files meet the
 * schema they will meet on the target; then the deploy itself applies them there with --trace
 * (and --online when asked), and everything it made is dropped again. The target is only read.
 */
import type { Migration } from '../read/migrations-folder.js';
import type { StatusReport } from '../status/diagnose.js';
import type { DatabaseTarget } from '../config/target.js';
import type { Plan } from '../plan/plan.js';
import type { AppliedResult } from '../apply/apply-step.js';
import { withSession } from '../db/session.js';
import { databaseIdentity, dropCreatedSince, readBaseline, readUserObjects } from '../db/database-contents.js';
import { DigilogError, isDigilogError } from '../errors.js';
import { deployLocked, withMigrationLock, type MigrateEvent, type MigrateOptions } from './migrate.js';
import type { StatementTrace } from '../apply/statement-trace.js';

/** What the pending migrations did on the scratch database. */
export interface ScratchTrace {
  /** The scratch database, `host:port/database` (no password). */
  database: string;
  /** Applied migrations of the target replayed first, untraced. */
  replayed: number;
  /** Each pending migration as it ran there, with its per-statement trace. */
  applied: AppliedResult[];
  /** What the clean-up could not drop (`table "public"."x"`); empty: the scratch database is empty again. */
  leftover: string[];
}

/** At most this many objects are named when the scratch database is not empty. */
const NAMED = 3;

/**
 * Replays the target's applied history on `scratch`, runs `plan`'s migrations there traced, and
 * empties it again. Throws, with nothing changed: `usage` when the scratch database is the target or
 * not empty, `unreachable` when it cannot be reached, `history-mismatch` when an applied migration
 * cannot be replayed (missing from the folder). After emptying it again: `migration-sql` when a
 * migration fails there, `interrupted` on a stop signal (the running migration finishes first).
 */
export async function traceOnScratch(
  options: MigrateOptions,
  scratch: DatabaseTarget,
  {
    report,
    local,
    plan,
    targetIdentity,
    onTrace,
  }: { report: Pick<StatusReport, 'applied' | 'missingFromDisk'>; local: Migration[]; plan: Plan; targetIdentity: string; onTrace?: (trace: StatementTrace) => void },
): Promise<ScratchTrace> {
  if (report.missingFromDisk.length > 0) {
    throw new DigilogError('history-mismatch', `Cannot replay the target's history on the scratch database: applied migrations are missing from the migrations folder: ${report.missingFromDisk.join(', ')}`, {
      hint: 'Run the dry run from a checkout that has every applied migration.',
      details: { missingFromDisk: report.missingFromDisk },
    });
  }
  const appliedNames = new Set(report.applied.map((a) => a.name));
  const history = local.filter((m) => appliedNames.has(m.name));
  const pending = plan.steps.map((s) => s.migration);
  // Already judged on the target (the dry run's own guard and history checks): here they only run.
  const base: MigrateOptions = {
    ...options,
    target: scratch,
    production: false,
    allowDangerous: true,
    allowModifiedHistory: true,
    allowOutOfOrder: true,
    allowMissingHistory: true,
    allow: [],
    backupDir: undefined,
    preloadParser: false,
    trace: false,
    onEvent: undefined,
  };
  delete base.to;
  return withSession(base, async (session) => {
    // The URLs differ (checked before connecting), but may still reach the same database by another route.
    if ((await databaseIdentity(session.client)) === targetIdentity) {
      throw new DigilogError('usage', `The scratch database ${scratch.label} is the database being migrated, reached by another address: the scratch database must be another, empty one`, {
        hint: 'Create one on any server of the same PostgreSQL version, e.g. `createdb digilog_scratch`, and pass its URL.',
        details: { database: scratch.label },
      });
    }
    const emit = (event: MigrateEvent) => {
      if (event.type === 'trace') onTrace?.(event.trace);
    };
    // Checked, filled and emptied under the scratch database's migration lock: a second dry run on it waits, then finds it empty.
    return withMigrationLock(session, base, async () => {
      const contents = await readUserObjects(session.client);
      if (contents.length > 0) {
        const named = contents.slice(0, NAMED).map((o) => o.describe).join(', ');
        throw new DigilogError('usage', `The scratch database ${scratch.label} is not empty (${contents.length} object${contents.length === 1 ? '' : 's'}: ${named}${contents.length > NAMED ? ', …' : ''}): it must be an empty database`, {
          hint: 'Give an empty database (e.g. `createdb digilog_scratch`); the dry run fills it and empties it again.',
          details: { database: scratch.label, objects: contents.length },
        });
      }
      const baseline = await readBaseline(session.client);
      let doing = "Replaying the target's applied history";
      let applied: AppliedResult[] | undefined;
      let failure: unknown;
      try {
        if (history.length > 0) await deployLocked(session, { ...base, online: false }, { local: history });
        doing = 'Running the pending migrations';
        applied = (await deployLocked(session, { ...base, trace: true, onEvent: emit }, { local: [...history, ...pending] })).applied;
      } catch (error) {
        failure = error;
      }
      const leftover = (await dropCreatedSince(session.client, baseline)).map((o) => o.describe);
      if (failure !== undefined) throw onScratch(failure, scratch, doing, leftover);
      return { database: scratch.label, replayed: history.length, applied: applied ?? [], leftover };
    });
  }).catch((error: unknown) => {
    throw unreachableScratch(error);
  });
}

/** A scratch database that cannot be reached is named as such: the connection errors speak of DATABASE_URL. */
function unreachableScratch(error: unknown): unknown {
  if (!isDigilogError(error) || error.kind !== 'unreachable') return error;
  return new DigilogError('unreachable', `Scratch database: ${error.message}`, {
    prismaCode: error.prismaCode,
    hint: 'Check the scratch URL (--scratch-url or DIGILOG_SCRATCH_URL): it must name an existing, reachable, empty database (e.g. `createdb digilog_scratch`). Nothing was changed.',
    details: error.details,
    cause: error,
  });
}

/** A failure on the scratch database says where it happened, that the target was not touched, and what is left on the scratch one. */
function onScratch(error: unknown, scratch: DatabaseTarget, doing: string, leftover: string[]): unknown {
  if (!isDigilogError(error) || error.kind === 'unreachable') return error;
  const left = leftover.length === 0 ? 'the scratch database is empty again' : `left on the scratch database: ${leftover.join(', ')}`;
  return new DigilogError(error.kind, `${doing} on the scratch database ${scratch.label} ${error.kind === 'interrupted' ? 'stopped' : 'failed'}: ${error.message}`, {
    prismaCode: error.prismaCode,
    hint: `Nothing was changed on the target database; ${left}.`,
    details: { ...error.details, scratch: scratch.label, leftover },
    cause: error,
  });
}
