/**
 * Who would block a migration: the sessions that hold (or queue ahead with) a
 * lock that conflicts with the lock a statement needs on a relation it
 * touches, the sessions those waiters are stuck behind (pg_blocking_pids),
 * and the idle-in-transaction and long-running transactions of the database
 * (CREATE INDEX CONCURRENTLY and VALIDATE wait for those). Read-only, on the
 * migration's own session between two statements. Never reads query texts:
 * they may hold secrets.
 */
import type pg from 'pg';
import { redact } from '../redact.js';
import { conflictingModes, lockName, type LockNeed } from '../plan/locks.js';

export type BlockerReason = 'holds-conflicting-lock' | 'queued-ahead' | 'blocks-a-waiter' | 'idle-in-transaction' | 'long-running';

/** A session that blocks, or may block, the migration. */
export interface Blocker {
  pid: number;
  applicationName: string | null;
  /** pg_stat_activity.state: active, idle in transaction, …; null when this role may not see it. */
  state: string | null;
  /** How long its transaction has been open (ms), or null when it has none or it is hidden. */
  xactAgeMs: number | null;
  /** When its current (or last) query started, ISO 8601. */
  queryStart: string | null;
  reason: BlockerReason;
  /** The relation and the mode it holds (or waits for) there, when the reason is a lock. */
  relation?: string;
  mode?: string;
}

export interface BlockerSearch {
  /** The migration's schema, for names written without one. */
  schema: string;
  /** A transaction open longer than this is reported as long-running (ms). */
  longRunningMs: number;
}

/** Default threshold for long-running transactions. */
export const LONG_RUNNING_MS = 5_000;

/** A statement running in a transaction younger than this is ordinary traffic passing by, not a blocker worth naming. */
const PASSING_TRAFFIC_MS = 200;

const QUERY = `
WITH need AS (
  SELECT DISTINCT c.oid AS relid, x.conflicts
    FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text, conflicts text[])
    CROSS JOIN LATERAL (SELECT to_regclass(quote_ident(x.schema) || '.' || quote_ident(x.name)) AS oid) r
    CROSS JOIN LATERAL (SELECT r.oid UNION SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = r.oid) c(oid)
   WHERE c.oid IS NOT NULL
),
lockers AS (
  SELECT DISTINCT ON (l.pid) l.pid, l.granted, l.mode, l.relation::regclass::text AS relation
    FROM pg_locks l JOIN need ON l.locktype = 'relation' AND l.relation = need.relid AND l.mode = ANY(need.conflicts)
   WHERE l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   ORDER BY l.pid, l.granted DESC
),
behind AS (
  SELECT DISTINCT b.pid FROM lockers w CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid)
   WHERE NOT w.granted AND b.pid <> pg_backend_pid() AND b.pid NOT IN (SELECT pid FROM lockers)
),
found AS (
  SELECT pid, CASE WHEN granted THEN 'holds-conflicting-lock' ELSE 'queued-ahead' END AS reason, relation, mode, 1 AS rank FROM lockers
  UNION ALL SELECT pid, 'blocks-a-waiter', NULL, NULL, 2 FROM behind
  UNION ALL
  SELECT a.pid, CASE WHEN a.state LIKE 'idle in transaction%' THEN 'idle-in-transaction' ELSE 'long-running' END, NULL, NULL, 3
    FROM pg_stat_activity a
   WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
     AND a.xact_start IS NOT NULL
     AND (a.state LIKE 'idle in transaction%' OR a.xact_start < clock_timestamp() - make_interval(secs => $2::float8 / 1000))
)
SELECT DISTINCT ON (f.pid) f.pid, f.reason, f.relation, f.mode, a.application_name, a.state,
       (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8 AS xact_age_ms, a.query_start
  FROM found f LEFT JOIN pg_stat_activity a ON a.pid = f.pid
 ORDER BY f.pid, f.rank`;

/** The sessions that block or may block these needs right now; [] when none of the relations exists yet. */
export async function findBlockers(client: pg.ClientBase, needs: LockNeed[], search: BlockerSearch): Promise<Blocker[]> {
  const payload = needs.map((n) => ({ schema: n.schema ?? search.schema, name: n.name, conflicts: conflictingModes(n.mode) }));
  const result = await client.query<{
    pid: number;
    reason: BlockerReason;
    relation: string | null;
    mode: string | null;
    application_name: string | null;
    state: string | null;
    xact_age_ms: number | null;
    query_start: Date | null;
  }>({
    // A named (prepared) statement: planning this query took ~1.2 ms on every call, 10× its run
    // time, paid before each migration of a deploy; prepared once per connection it costs ~0.15 ms.
    // The migration session is never behind a transaction pooler (db/lock.ts refuses one).
    name: 'digilog_find_blockers',
    text: QUERY,
    values: [JSON.stringify(payload), search.longRunningMs],
  });
  const order: BlockerReason[] = ['holds-conflicting-lock', 'queued-ahead', 'blocks-a-waiter', 'idle-in-transaction', 'long-running'];
  return result.rows
    .map((row) => ({
      pid: row.pid,
      applicationName: row.application_name === null ? null : redact(row.application_name),
      state: row.state,
      xactAgeMs: row.xact_age_ms === null ? null : Math.round(row.xact_age_ms),
      queryStart: row.query_start?.toISOString() ?? null,
      reason: row.reason,
      ...(row.relation ? { relation: row.relation } : {}),
      ...(row.mode ? { mode: row.mode } : {}),
    }))
    .filter((b) => !(b.reason === 'holds-conflicting-lock' && b.state === 'active' && b.xactAgeMs !== null && b.xactAgeMs < PASSING_TRAFFIC_MS))
    // A session with no open transaction holds no relation lock: pg_locks and pg_stat_activity are read a moment
    // apart, so a writer that committed in between shows a lock row and an idle state. It blocks nobody.
    .filter((b) => !(b.reason === 'holds-conflicting-lock' && b.xactAgeMs === null && b.state === 'idle'))
    .sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason) || a.pid - b.pid);
}

/** Blockers that certainly stop the statement (a conflicting lock), as opposed to sessions that only may. */
export function definiteBlockers(blockers: Blocker[]): Blocker[] {
  return blockers.filter((b) => b.reason === 'holds-conflicting-lock' || b.reason === 'queued-ahead' || b.reason === 'blocks-a-waiter');
}

const REASON_TEXT: Record<BlockerReason, string> = {
  'holds-conflicting-lock': 'holds',
  'queued-ahead': 'waits for',
  'blocks-a-waiter': 'blocks a session queued ahead',
  'idle-in-transaction': 'idle in an open transaction',
  'long-running': 'long-running transaction',
};

/** One blocker as one line: `pid 123 (app), idle in transaction, transaction open 12.0 s, query started …: holds RowExclusiveLock on accounts`. */
export function describeBlocker(b: Blocker): string {
  const parts = [`pid ${b.pid}${b.applicationName ? ` (${b.applicationName})` : ''}`];
  if (b.state) parts.push(b.state);
  if (b.xactAgeMs !== null) parts.push(`transaction open ${(b.xactAgeMs / 1000).toFixed(1)} s`);
  if (b.queryStart) parts.push(`query started ${b.queryStart}`);
  const lock = b.relation && b.mode ? ` ${lockName(b.mode as never)} on ${b.relation}` : '';
  return `${parts.join(', ')}: ${REASON_TEXT[b.reason]}${lock}`;
}

/**
 * The command that lists the same sessions again (for the failure hint): psql on the same
 * database, with the URL taken from the environment so no password is ever printed.
 */
export function blockersCommand(relations: string[]): string {
  const onRelations = relations.length > 0 ? `l.relation IN (${relations.map((r) => `'${r.replace(/'/g, "''")}'::regclass`).join(', ')})` : 'false';
  const sql = `SELECT a.pid, a.application_name, a.state, now() - a.xact_start AS xact_age, a.query_start FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid() AND (a.pid IN (SELECT l.pid FROM pg_locks l WHERE ${onRelations}) OR a.state LIKE 'idle in transaction%')`;
  return `psql "$DATABASE_URL" -c "${sql.replace(/["\\$`]/g, '\\$&')}"`;
}
