/**
 * Progress of an online migration, kept in its own `_prisma_migrations` row
 * while it runs: the row stays unfinished (what Prisma shows for a migration
 * that did not complete), its `logs` say in words how far it got and what to
 * run, and end with one machine-readable line. A kill -9 at any point leaves
 * that row, `status` names it, and `migrate --online` continues from it.
 * When the migration finishes, `logs` goes back to NULL as Prisma writes it.
 */
import { quoteLiteral } from '../config/target.js';
import type { MigrationHistory, MigrationRow } from '../db/history.js';

/** How far an online migration got. */
export interface OnlineProgress {
  /** The file's checksum: progress of another version of the file is never resumed. */
  checksum: string;
  /** Units of the rewrite (a rewrite that changed, e.g. by a new digilog-db, is not resumed). */
  units: number;
  /** Units committed so far. */
  done: number;
  /** Inside a batched UPDATE: the last key done and the highest key to do (primary-key values as text). */
  batch?: { cursor: string[] | null; upper: string[] | null; rows: number };
}

const MARKER = 'digilog-online-progress: ';

/** The logs text of a row at this progress. */
export function progressLogs(name: string, progress: OnlineProgress): string {
  const batch = progress.batch ? ` (batched UPDATE: ${progress.batch.rows} rows done)` : '';
  return (
    `digilog-db migrate --online applies this migration in ${progress.units} steps, each committed on its own (not atomic): ${progress.done} of ${progress.units} done${batch}.\n` +
    `If it was interrupted, run \`digilog-db migrate --online\` to complete it (do not resolve it: part of it is applied).\n` +
    `${MARKER}${JSON.stringify(progress)}\n`
  );
}

/** The progress recorded in a row's logs, or undefined when the row is not an online migration's. */
export function readProgress(logs: string | null): OnlineProgress | undefined {
  const line = logs?.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) return undefined;
  try {
    const parsed = JSON.parse(line.slice(MARKER.length)) as OnlineProgress;
    return typeof parsed.checksum === 'string' && Number.isInteger(parsed.units) && Number.isInteger(parsed.done) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** SQL that records progress on the row (sent in the same transaction as the unit it follows). */
export function progressSql(history: MigrationHistory, id: string, name: string, progress: OnlineProgress): string {
  return `UPDATE ${history.table} SET logs = ${quoteLiteral(progressLogs(name, progress))} WHERE id = ${quoteLiteral(id)}`;
}

/** SQL that finishes the row as Prisma writes it (logs back to NULL). */
export function finishOnlineSql(history: MigrationHistory, id: string): string {
  return `UPDATE ${history.table} SET logs = NULL WHERE id = ${quoteLiteral(id)};\n${history.finishSql(id)}`;
}

/** An interrupted online migration: its unfinished row and the progress in it. */
export interface InterruptedOnline {
  name: string;
  id: string;
  progress: OnlineProgress;
}

/** The unfinished, not rolled back rows that hold online progress (at most one in practice: the one that was running). */
export function interruptedOnline(rows: MigrationRow[] | null): InterruptedOnline[] {
  return (rows ?? []).flatMap((row) => {
    if (row.finishedAt || row.rolledBackAt) return [];
    const progress = readProgress(row.logs);
    return progress ? [{ name: row.migrationName, id: row.id, progress }] : [];
  });
}
