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
  /** Opens a second connection to the same URL, for the pooler check (see assertLockKeptBySession). */
  openProbe?: () => Promise<pg.Client>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Returns the session holding the migration lock, or null when it is free. */
export async function findLockHolder(client: pg.ClientBase): Promise<LockHolder | null> {
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
export async function acquireMigrationLock(client: pg.ClientBase, options: LockOptions): Promise<number> {
  const started = performance.now();
  let delayMs = 25;
  let lastHolderPid: number | undefined;
  let retriesAtOnce = 0;
  for (;;) {
    const result = await client.query<{ locked: boolean; pid: number }>(`SELECT pg_try_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY}) AS locked, pg_backend_pid() AS pid`);
    if (result.rows[0]?.locked) {
      await assertLockKeptBySession(client, result.rows[0].pid, options.openProbe);
      return performance.now() - started;
    }
    const holder = await findLockHolder(client);
    const waited = performance.now() - started;
    // No holder: it let go between the two queries. Try again at once rather than report a
    // wait on nobody (a second "lock wait" event in the log for the same wait).
    // Bounded, so a holder this query cannot see never turns the wait into a busy loop.
    if (holder === null && waited < options.waitMs && ++retriesAtOnce <= 3) continue;
    retriesAtOnce = 0;
    if (holder !== null && holder.pid !== lastHolderPid) {
      lastHolderPid = holder.pid;
      options.onWait?.(holder);
    }
    if (waited >= options.waitMs) {
      const who = describeLockHolder(holder);
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

/**
 * A session-level lock only protects the run if the session stays on one server process.
 * Behind a transaction-pooling proxy (PgBouncer pool_mode=transaction, some managed
 * "poolers") each transaction may run on another server connection: the lock would sit on a
 * connection the run no longer uses while the migration runs unprotected elsewhere, and
 * another client given that connection would find the lock already "its own". So, right
 * after taking it, check in a second transaction that this session is still on the same
 * server process and that it holds the lock; if not, give the lock back (on the process that
 * took it, a bounded number of tries) and refuse with an explanation.
 *
 * That check alone misses a real PgBouncer with an idle pool: it opens server connections
 * only on demand and hands a lone client the same one again, so the pid never changes. When
 * the pid the server announced at startup (BackendKeyData) is not the one that runs our
 * queries, something sits in between; then a second connection holds a transaction open
 * while the check runs. On a session pool or a direct connection it gets a process of its
 * own; on a transaction pool it is given the idle process that holds our lock (or this
 * session moves to another one), and either is refused.
 */
const HELD_QUERY = `SELECT pg_backend_pid() AS pid, EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND granted
       AND classid = 0 AND objid = ${PRISMA_ADVISORY_LOCK_KEY} AND objsubid = 1) AS held`;
const RELEASE_QUERY = (lockPid: number) =>
  `SELECT CASE WHEN pg_backend_pid() = ${lockPid} THEN pg_advisory_unlock(${PRISMA_ADVISORY_LOCK_KEY}) ELSE false END AS released`;

async function assertLockKeptBySession(client: pg.ClientBase, lockPid: number, openProbe?: () => Promise<pg.Client>): Promise<void> {
  const announcedPid = (client as unknown as { processID?: number | null }).processID;
  let probe: pg.Client | undefined;
  let shared: { pid: number; held: boolean } | undefined;
  if (openProbe && announcedPid !== lockPid) {
    // A probe that cannot connect (connection limit) proves nothing either way: skip it.
    probe = await openProbe().catch(() => undefined);
    try {
      await probe?.query('BEGIN');
      shared = probe ? (await probe.query<{ pid: number; held: boolean }>(HELD_QUERY)).rows[0] : undefined;
    } catch {
      await probe?.end().catch(() => {});
      probe = undefined;
    }
  }
  const { pid, held } = (await client.query<{ pid: number; held: boolean }>(HELD_QUERY)).rows[0]!;
  const sharedLock = shared?.held === true;
  let released = false;
  try {
    if (pid === lockPid && held && !sharedLock) return;
    // The probe sits on the process holding the lock: give it back from there.
    if (sharedLock) released = (await probe!.query<{ released: boolean }>(RELEASE_QUERY(lockPid))).rows[0]?.released === true;
  } finally {
    await probe?.query('ROLLBACK').catch(() => {});
    await probe?.end().catch(() => {});
  }
  for (let attempt = 0; attempt < 20 && !released; attempt++) {
    const result = await client.query<{ released: boolean }>(RELEASE_QUERY(lockPid));
    released = result.rows[0]?.released === true;
  }
  const what = sharedLock
    ? `it was taken by server process ${lockPid}, and a second connection to the same URL was given that same server process (it found the lock already its own) while this session's next transaction ran on server process ${pid}`
    : `it was taken by server process ${lockPid}, but the next transaction ran on server process ${pid}`;
  throw new DigilogError(
    'config',
    `The migration lock does not stay with this connection: ${what}. ` +
      'DATABASE_URL goes through a transaction-pooling proxy (e.g. PgBouncer with pool_mode=transaction), where session-level advisory locks and session settings do not work, so migrating through it is refused.',
    {
      hint:
        'Run migrations over a direct connection to PostgreSQL, or a session-mode pool (as Prisma\'s directUrl does), and keep the pooled URL for the application.' +
        (released ? '' : ` The lock may still be held by server process ${lockPid}: SELECT pg_terminate_backend(${lockPid}) if no migration is running.`),
      details: { lockPid, sessionPid: pid, sharedProcess: sharedLock, released },
    },
  );
}

/** The holder as one phrase: "process 123 (digilog-db pid=9), active", or "another session" when unknown. */
export function describeLockHolder(holder: LockHolder | null): string {
  return holder
    ? `process ${holder.pid}${holder.applicationName ? ` (${holder.applicationName})` : ''}${holder.state ? `, ${holder.state}` : ''}`
    : 'another session';
}

/** Releases the lock held by this session. */
export async function releaseMigrationLock(client: pg.Client): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK_KEY})`);
}
