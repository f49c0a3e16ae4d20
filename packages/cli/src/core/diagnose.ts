/**
 * The status diagnosis: a pure function from (migrations on disk, rows in the
 * database) to a typed report. `status`, `health`, `migrate` and the API all
 * read the database through this one function.
 */
import { equivalentChecksums } from './checksum.js';
import type { LocalMigration, MigrationRow } from './types.js';

export interface AppliedMigration {
  name: string;
  /** When its script started (with finishedAt: the migration's duration, for metrics). */
  startedAt: Date;
  finishedAt: Date;
  checksum: string;
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
  pending: string[];
  failed: FailedMigration[];
  edited: EditedMigration[];
  missingFromDisk: string[];
  /** Pending migrations whose name sorts before the latest applied one. */
  outOfOrder: string[];
}

export interface DiagnoseInput {
  local: LocalMigration[];
  /** null when the migrations table does not exist. */
  rows: MigrationRow[] | null;
  schemaEmpty: boolean;
}

/** Computes the status report. Pure: same input, same report. */
export function diagnose({ local, rows, schemaEmpty }: DiagnoseInput): StatusReport {
  const liveRows = (rows ?? []).filter((row) => row.rolledBackAt === null);
  const finishedByName = new Map<string, MigrationRow>();
  for (const row of liveRows) {
    if (row.finishedAt === null) continue;
    const seen = finishedByName.get(row.migrationName);
    if (!seen || seen.finishedAt! < row.finishedAt) finishedByName.set(row.migrationName, row);
  }
  const failed: FailedMigration[] = liveRows
    .filter((row) => row.finishedAt === null)
    .map((row) => ({ name: row.migrationName, startedAt: row.startedAt, logs: row.logs }));

  const localNames = new Set(local.map((m) => m.name));
  const applied: AppliedMigration[] = [];
  const edited: EditedMigration[] = [];
  const pending: string[] = [];
  for (const migration of local) {
    const row = finishedByName.get(migration.name);
    if (!row) {
      if (!failed.some((f) => f.name === migration.name)) pending.push(migration.name);
      continue;
    }
    applied.push({ name: migration.name, startedAt: row.startedAt, finishedAt: row.finishedAt!, checksum: row.checksum });
    // Prisma also accepts the file with CRLF/LF swapped; computed only on a mismatch.
    const matches = row.checksum === migration.checksum || equivalentChecksums(migration.sql).includes(row.checksum);
    if (!matches) {
      edited.push({ name: migration.name, path: migration.path, recordedChecksum: row.checksum, fileChecksum: migration.checksum });
    }
  }
  const missingFromDisk = [...finishedByName.keys()].filter((name) => !localNames.has(name)).sort(compareNames);
  const latestApplied = [...finishedByName.keys()].sort(compareNames).at(-1);
  const outOfOrder = latestApplied ? pending.filter((name) => compareNames(name, latestApplied) < 0) : [];
  const tableExists = rows !== null;

  let state: StatusState = 'upToDate';
  if (failed.length > 0) state = 'failed';
  else if (edited.length > 0) state = 'edited';
  else if (missingFromDisk.length > 0) state = 'missingFromDisk';
  else if (!tableExists && !schemaEmpty) state = 'notManaged';
  else if (pending.length > 0) state = 'pending';

  return { state, tableExists, schemaEmpty, localCount: local.length, applied, pending, failed, edited, missingFromDisk, outOfOrder };
}

/** Prisma orders migration folders by the bytes of their names, not by locale. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** One-line summary in Prisma's words where Prisma has them (used by status and health). */
export function summarize(report: StatusReport): string {
  switch (report.state) {
    case 'upToDate':
      return 'Database is up to date!';
    case 'pending':
      return `${report.pending.length} migration${report.pending.length === 1 ? '' : 's'} not yet applied: ${report.pending.join(', ')}`;
    case 'failed':
      return `Failed migration${report.failed.length === 1 ? '' : 's'} in the database: ${report.failed.map((f) => f.name).join(', ')}`;
    case 'edited':
      return `Applied migration${report.edited.length === 1 ? ' was' : 's were'} modified after being applied: ${report.edited.map((e) => e.name).join(', ')}`;
    case 'missingFromDisk':
      return `Migration${report.missingFromDisk.length === 1 ? '' : 's'} applied to the database but missing from the migrations folder: ${report.missingFromDisk.join(', ')}`;
    case 'notManaged':
      return 'The database schema is not empty and has no migration history (baseline it with `resolve --applied`)';
  }
}
