/**
 * Prisma's migration lock: a session-level advisory lock on key 72707369, so
 * digilog-db and the real Prisma CLI exclude each other. Taken by polling
 * `pg_try_advisory_lock` rather than blocking in `pg_advisory_lock`, so a
 * waiter never sits in the lock queue (a blocked waiter can deadlock with
 * CREATE INDEX CONCURRENTLY, Flyway #1654) and can give up on time.
 */
import type pg from 'pg';
import { DigilogError } from '../errors.js';

export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** Who holds the lock, as far as pg_stat_activity tells (visible to the holder's role or a superuser). */
export interface LockHolder {
  pid: number;
  applicationName: string | null;
  state: string | null;
  since: Date | null;
}

export interface LockOptions {
  waitMs: number;
  /** Called once when the lock is busy, then each time the holder changes. */
  onWait?: (holder: LockHolder | null) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Returns the session holding the migration lock, or null when it is free. */
export async function findLockHolder(client: pg.Client): Promise<LockHolder | null> {
  const result = await client.query<{ pid: number; application_name: string | null; state: string | null; backend_start: Date | null }>(
    `SELECT l.pid, a.application_name, a.state, a.backend_start
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = 0 AND l.objid = ${PRISMA_ADVISORY_LOCK_KEY} AND l.objsubid = 1
      LIMIT 1`,
  );
  const row = result.rows[0];
  return row ? { pid: row.pid, applicationName: row.application_name, state: row.state, since: row.backend_start } : null;
}

/**
 * Takes the lock on this client's session, polling with backoff up to waitMs.
 * Returns how long it waited; throws `lock-timeout` (P1002) naming the holder.
 */
export async function acquireMigrationLock(client: pg.Client, options: LockOptions): Promise<number> {
  const started = performance.now();
  let delayMs = 25;
  let lastHolderPid: number | undefined;
  for (;;) {
    const result = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY}) AS locked`);
    if (result.rows[0]?.locked) return performance.now() - started;
    const holder = await findLockHolder(client);
    if (holder?.pid !== lastHolderPid || lastHolderPid === undefined) {
      lastHolderPid = holder?.pid ?? -1;
      options.onWait?.(holder);
    }
    const waited = performance.now() - started;
    if (waited >= options.waitMs) {
      const who = holder
        ? `process ${holder.pid}${holder.applicationName ? ` (${holder.applicationName})` : ''}${holder.state ? `, ${holder.state}` : ''}`
        : 'another session';
      throw new DigilogError('lock-timeout', `Timed out after ${Math.round(waited)} ms waiting for the migration lock (advisory lock ${PRISMA_ADVISORY_LOCK_KEY}) held by ${who}`, {
        prismaCode: 'P1002',
        hint: holder
          ? `Another migration is running. If process ${holder.pid} is stuck, end it with SELECT pg_terminate_backend(${holder.pid}); raise the wait with DIGILOG_LOCK_WAIT_MS.`
          : 'Another migration is running; try again later or raise DIGILOG_LOCK_WAIT_MS.',
        details: { lockKey: PRISMA_ADVISORY_LOCK_KEY, waitedMs: Math.round(waited), holder },
      });
    }
    // Jittered exponential backoff so many replicas booting at once do not poll in step.
    await sleep(Math.min(delayMs * (0.75 + Math.random() / 2), options.waitMs - waited));
    delayMs = Math.min(delayMs * 2, 1_000);
  }
}

/** Releases the lock held by this session. */
export async function releaseMigrationLock(client: pg.Client): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK_KEY})`);
}
