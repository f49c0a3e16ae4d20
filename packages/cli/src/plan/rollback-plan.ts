/**
 * The pure part of a rollback: which migrations it undoes, where each one's down SQL comes from
 * (its committed down.sql, or the schema engine's diff over the history), and the name of the
 * forward migration that carries it. Names in, names out; no database, no files.
 */
import { DigilogError } from '../errors.js';
import { compareNames } from '../read/migrations-folder.js';

/** `--to <migration>` or `--last N`. */
export type RollbackSelector = { to: string } | { last: number };

/** The migration to go back to and the applied ones after it, oldest first. */
export interface RollbackSelection {
  target: string;
  /** How many migrations of the history the target state has (the target's position + 1). */
  targetCount: number;
  undo: string[];
}

/**
 * Picks the target among the applied migrations (every local migration is applied when this is
 * called). Throws `usage` for an unknown name, a target that is not applied, or a --last that
 * reaches past the first migration.
 */
export function selectRollback(applied: readonly string[], local: readonly string[], selector: RollbackSelector): RollbackSelection {
  if ('last' in selector) {
    if (!Number.isInteger(selector.last) || selector.last < 1 || selector.last >= applied.length) {
      throw new DigilogError('usage', `--last ${selector.last}: ${applied.length} migration(s) are applied, so at most ${Math.max(0, applied.length - 1)} can be rolled back`, {
        hint: 'The first migration stays (rolling it back would empty the schema: use `digilog-db reset` in development).',
      });
    }
    const targetCount = applied.length - selector.last;
    return { target: applied[targetCount - 1]!, targetCount, undo: applied.slice(targetCount) };
  }
  const index = applied.indexOf(selector.to);
  if (index === -1) {
    if (local.includes(selector.to)) {
      throw new DigilogError('usage', `Migration ${selector.to} is not applied to this database: there is nothing after it to roll back`, {
        hint: `Apply up to it first with \`digilog-db migrate --to ${selector.to}\`, or pick an applied migration (\`digilog-db status\`).`,
        details: { migration: selector.to },
      });
    }
    throw new DigilogError('usage', `Unknown migration "${selector.to}": no such folder in the migrations folder`, {
      hint: 'Pass the folder name of an applied migration, e.g. 20240101000000_init (`digilog-db status` lists them).',
      details: { migration: selector.to },
    });
  }
  return { target: selector.to, targetCount: index + 1, undo: applied.slice(index + 1) };
}

/** A run of consecutive undone migrations whose down SQL comes from the same place. */
export interface DownSegment {
  source: 'committed' | 'computed';
  /** Newest first: the order their down SQL runs in. */
  migrations: string[];
  /** For a computed segment: the diff goes from the first `after` migrations of the history to the first `before`. */
  after: number;
  before: number;
}

/**
 * Groups the undone migrations (oldest first, starting right after the target) into runs, newest
 * run first. A run without down.sql costs one engine diff, however many migrations it holds. Pure.
 */
export function downSegments(selection: RollbackSelection, hasDownFile: (migration: string) => boolean): DownSegment[] {
  const segments: DownSegment[] = [];
  for (let i = selection.undo.length - 1; i >= 0; i--) {
    const name = selection.undo[i]!;
    const source = hasDownFile(name) ? 'committed' : 'computed';
    const position = selection.targetCount + i; // migrations before this one in the history
    const last = segments.at(-1);
    if (last && last.source === source && source === 'computed') {
      last.migrations.push(name);
      last.before = position;
    } else {
      segments.push({ source, migrations: [name], after: position + 1, before: position });
    }
  }
  return segments;
}

/** Prisma's limit on migration names (P3010). */
const MAX_NAME_BYTES = 200;

/** `YYYYMMDDHHMMSS` in UTC, as Prisma stamps migration folders. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * `<timestamp>_rollback_to_<target>`, sorting after every existing migration (a clock behind the
 * newest folder takes that folder's timestamp plus one second) and within Prisma's 200 bytes. Pure.
 */
export function rollbackMigrationName(target: string, existing: readonly string[], now: Date): string {
  const newest = [...existing].sort(compareNames).at(-1);
  let date = now;
  const newestStamp = newest && /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/.exec(newest);
  if (newest && compareNames(stamp(date), newest) <= 0 && newestStamp) {
    const [, y, mo, d, h, mi, s] = newestStamp.map(Number) as number[];
    date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s! + 1));
  }
  const prefix = `${stamp(date)}_rollback_to_`;
  let suffix = target;
  while (Buffer.byteLength(prefix + suffix) > MAX_NAME_BYTES) suffix = suffix.slice(0, -1);
  const name = prefix + suffix;
  if (newest && compareNames(name, newest) <= 0) {
    throw new DigilogError('usage', `Cannot name the rollback migration so that it sorts after ${newest}`, {
      hint: 'Rename the newest migration folder to a Prisma timestamp (YYYYMMDDHHMMSS_name) or write the rollback by hand.',
    });
  }
  return name;
}

/** The rollback migration's leading comments: what it undoes, from where, and the rules acknowledged for it. */
export function rollbackHeader(selection: RollbackSelection, segments: readonly DownSegment[], allow: readonly string[]): string {
  const lines = [
    `-- Rollback to ${selection.target}, written by \`digilog-db rollback\`: undoes ${selection.undo.length} migration(s), newest first.`,
    ...segments.flatMap((s) => s.migrations.map((m) => `--   ${m}: ${s.source === 'committed' ? 'its down.sql' : 'computed from the migration history by the schema engine'}`)),
  ];
  if (allow.length > 0) lines.push(`-- digilog:allow ${allow.join(', ')}`);
  return `${lines.join('\n')}\n\n`;
}
