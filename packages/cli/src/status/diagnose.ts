/**
 * The status diagnosis: a pure function from (migrations on disk, rows in the
 * database) to a typed report. `status`, `health`, `migrate` and the API all
 * read the database through this one function.
 */
import { scriptMatchesChecksum } from '../read/checksum.js';
import type { MigrationRow } from '../db/history.js';
import { compareNames, type Migration } from '../read/migrations-folder.js';

export interface AppliedMigration {
  name: string;
  /** When its script started (with finishedAt: the migration's duration, for metrics). */
  startedAt: Date;
  finishedAt: Date;
  checksum: string;
  /** finished_at − started_at of its row. */
  durationMs: number;
}
/** An applied migration that took longer than its budget (`-- digilog:budget`, else the configured one). */
export interface SlowMigration {
  name: string;
  durationMs: number;
  budgetMs: number;
}
export interface FailedMigration {
  name: string;
  startedAt: Date;
  logs: string | null;
}
export interface EditedMigration {
  name: string;
  path: string;
  recordedChecksum: string;
  fileChecksum: string;
}

export interface RenamedMigration {
  /** The name recorded in the database (no longer on disk). */
  from: string;
  /** The folder on disk now. */
  to: string;
}

/** Worst problem first: the state that decides the exit code and the next step. */
export type StatusState = 'failed' | 'edited' | 'missingFromDisk' | 'notManaged' | 'pending' | 'upToDate';

export interface StatusReport {
  state: StatusState;
  /** Whether `_prisma_migrations` exists. */
  tableExists: boolean;
  /** Whether the schema holds objects other than the migrations table (for P3005). */
  schemaEmpty: boolean;
  localCount: number;
  applied: AppliedMigration[];
  /** The folder's migrations not applied yet, in order: the Migrations themselves, which the plan takes. */
  pending: Migration[];
  failed: FailedMigration[];
  edited: EditedMigration[];
  missingFromDisk: string[];
  /**
   * Applied migrations whose folder was renamed: the file on disk under `to` has the checksum
   * recorded for `from`, which is missing from disk. Applying `to` would run the script again.
   * Neither name is listed in pending or missingFromDisk.
   */
  renamed: RenamedMigration[];
  /** Pending migrations whose name sorts before the latest applied one. */
  outOfOrder: string[];
  /** Applied migrations that ran over their budget (a warning; does not change the state). */
  slow: SlowMigration[];
  /** The migration another session is applying right now (its row is unfinished while that session holds the lock). */
  running: string[];
}

export interface DiagnoseInput {
  local: Migration[];
  /** null when the migrations table does not exist. */
  rows: MigrationRow[] | null;
  schemaEmpty: boolean;
  /** Default budget of one migration in ms (0 or absent: only files with `-- digilog:budget` are judged). */
  budgetMs?: number;
  /**
   * Another session holds the migration lock: the newest unfinished row is the migration it is
   * applying, not a failure (migrate refuses to start while a failed row exists, so older ones stay failed).
   */
  migrationRunning?: boolean;
}

/** Computes the status report. Pure: same input, same report. */
export function diagnose({ local, rows, schemaEmpty, budgetMs = 0, migrationRunning = false }: DiagnoseInput): StatusReport {
  const liveRows = (rows ?? []).filter((row) => row.rolledBackAt === null);
  const finishedByName = new Map<string, MigrationRow>();
  for (const row of liveRows) {
    if (row.finishedAt === null) continue;
    const seen = finishedByName.get(row.migrationName);
    if (!seen || seen.finishedAt! < row.finishedAt) finishedByName.set(row.migrationName, row);
  }
  const unfinished = liveRows.filter((row) => row.finishedAt === null);
  const runningRow = migrationRunning ? unfinished.reduce<MigrationRow | undefined>((newest, row) => (!newest || row.startedAt > newest.startedAt ? row : newest), undefined) : undefined;
  const failed: FailedMigration[] = unfinished
    .filter((row) => row !== runningRow)
    .map((row) => ({ name: row.migrationName, startedAt: row.startedAt, logs: row.logs }));
  const running = runningRow ? [runningRow.migrationName] : [];

  const localNames = new Set(local.map((m) => m.name));
  const applied: AppliedMigration[] = [];
  const edited: EditedMigration[] = [];
  const slow: SlowMigration[] = [];
  const pending: Migration[] = [];
  for (const migration of local) {
    const row = finishedByName.get(migration.name);
    if (!row) {
      if (!failed.some((f) => f.name === migration.name)) pending.push(migration);
      continue;
    }
    const durationMs = row.finishedAt!.getTime() - row.startedAt.getTime();
    applied.push({ name: migration.name, startedAt: row.startedAt, finishedAt: row.finishedAt!, checksum: row.checksum, durationMs });
    const budget = migration.directives.budgetMs ?? budgetMs;
    if (budget > 0 && durationMs > budget) slow.push({ name: migration.name, durationMs, budgetMs: budget });
    // Prisma's own rule (CRLF/LF swapped, Prisma 2's unpadded hex); computed only on a mismatch.
    const matches = row.checksum === migration.checksum || scriptMatchesChecksum(migration.sql, row.checksum);
    if (!matches) {
      edited.push({ name: migration.name, path: migration.path, recordedChecksum: row.checksum, fileChecksum: migration.checksum });
    }
  }
  const missing = [...finishedByName.keys()].filter((name) => !localNames.has(name)).sort(compareNames);
  const { renamed, recordedRenames } = findRenames(missing, finishedByName, pending, applied);
  const missingFromDisk = missing.filter((name) => !recordedRenames.has(name) && !renamed.some((r) => r.from === name));
  for (const { to } of renamed) pending.splice(pending.findIndex((m) => m.name === to), 1);
  const latestApplied = [...finishedByName.keys()].sort(compareNames).at(-1);
  const outOfOrder = latestApplied ? pending.filter((m) => compareNames(m.name, latestApplied) < 0).map((m) => m.name) : [];
  const tableExists = rows !== null;

  let state: StatusState = 'upToDate';
  if (failed.length > 0) state = 'failed';
  else if (edited.length > 0) state = 'edited';
  else if (missingFromDisk.length > 0 || renamed.length > 0) state = 'missingFromDisk';
  else if (!tableExists && !schemaEmpty) state = 'notManaged';
  else if (pending.length > 0) state = 'pending';

  return { state, tableExists, schemaEmpty, localCount: local.length, applied, pending, failed, edited, missingFromDisk, renamed, outOfOrder, slow, running };
}

/**
 * Pairs applied migrations missing from disk with files of the same content: a pending file is
 * a rename not yet recorded; an applied one is a rename already recorded with `resolve --applied`
 * (the old row stays as history), so the old name is no longer reported missing.
 */
function findRenames(
  missing: string[],
  finishedByName: Map<string, MigrationRow>,
  pending: Migration[],
  applied: AppliedMigration[],
): { renamed: RenamedMigration[]; recordedRenames: Set<string> } {
  const renamed: RenamedMigration[] = [];
  const recordedRenames = new Set<string>();
  if (missing.length === 0) return { renamed, recordedRenames };
  const appliedChecksums = new Set(applied.map((a) => a.checksum));
  for (const name of missing) {
    const checksum = finishedByName.get(name)!.checksum;
    // Prisma's own verification rule (CRLF/LF variants, Prisma 2's unpadded form) decides "same file".
    const to = pending.find((migration) => scriptMatchesChecksum(migration.sql, checksum))?.name;
    if (to !== undefined && !renamed.some((r) => r.to === to)) renamed.push({ from: name, to });
    else if (appliedChecksums.has(checksum)) recordedRenames.add(name);
  }
  return { renamed, recordedRenames };
}



/** One-line summary in Prisma's words where Prisma has them (used by status and health). */
export function summarize(report: StatusReport): string {
  switch (report.state) {
    case 'upToDate':
      return 'Database is up to date!';
    case 'pending':
      return `${report.pending.length} migration${report.pending.length === 1 ? '' : 's'} not yet applied: ${report.pending.map((m) => m.name).join(', ')}`;
    case 'failed':
      return `Failed migration${report.failed.length === 1 ? '' : 's'} in the database: ${report.failed.map((f) => f.name).join(', ')}`;
    case 'edited':
      return `Applied migration${report.edited.length === 1 ? ' was' : 's were'} modified after being applied: ${report.edited.map((e) => e.name).join(', ')}`;
    case 'missingFromDisk':
      if (report.renamed.length > 0) {
        return `Applied migration${report.renamed.length === 1 ? ' was' : 's were'} renamed on disk: ${report.renamed.map((r) => `${r.from} → ${r.to}`).join(', ')}`;
      }
      return `Migration${report.missingFromDisk.length === 1 ? '' : 's'} applied to the database but missing from the migrations folder: ${report.missingFromDisk.join(', ')}`;
    case 'notManaged':
      return 'The database schema is not empty and has no migration history (baseline it with `resolve --applied`)';
  }
}
