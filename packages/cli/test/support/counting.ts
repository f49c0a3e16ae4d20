/** What the reliability tests count after a fault: migrations lost or applied twice, locks and backends left behind. */
import type { TestDatabase } from './database.js';
import { PRISMA_ADVISORY_LOCK_KEY } from '../../src/db/lock.js';

type Query = TestDatabase['query'];

/**
 * Compares `_prisma_migrations` with the expected names: each must have exactly one
 * finished, not rolled-back row. Returns how many are missing or doubled (0 when right).
 */
export async function countLostOrDoubled(query: Query, expected: string[]): Promise<number> {
  const rows = await query<{ migration_name: string; n: number }>(
    `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY 1`,
  ).catch(() => []);
  const counts = new Map(rows.map((r) => [r.migration_name, r.n]));
  let wrong = 0;
  for (const name of expected) wrong += Math.abs((counts.get(name) ?? 0) - 1);
  for (const [name, n] of counts) if (!expected.includes(name)) wrong += n;
  return wrong;
}

/** Sessions of this database holding or waiting for Prisma's migration lock. */
export function migrationLockRows(query: Query): Promise<Array<{ pid: number; granted: boolean }>> {
  return query(`SELECT pid, granted FROM pg_locks
    WHERE locktype = 'advisory' AND objid = ${PRISMA_ADVISORY_LOCK_KEY}
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
}

/** Backends of digilog-db runners (application_name 'digilog-db …') still connected to this database, other than the caller. */
export function runnerBackends(query: Query): Promise<Array<{ pid: number; application_name: string; state: string | null }>> {
  return query(`SELECT pid, application_name, state FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE 'digilog-db%' AND pid <> pg_backend_pid()`);
}

/** Polls until fn returns true, at most timeoutMs; throws with `what` otherwise. Returns the elapsed ms. */
export async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await fn().catch(() => false)) return performance.now() - started;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}
