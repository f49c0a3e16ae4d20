/** How long one lock attempt lasts on the server, and the pause between two attempts. Pure. */

/**
 * The lock_timeout PostgreSQL gets for one attempt of `attemptMs` (DIGILOG_LOCK_TIMEOUT, --lock-timeout,
 * `-- digilog:lock-timeout`). That setting is what the application feels: how long its queries stall,
 * queued behind the waiting attempt. A query queued at once waits the server's lock_timeout, then the
 * timer's firing and wake-up latency, then its own run (P7b measured the worst writer 8-17 ms past a
 * 200 ms attempt under load). So the server gets a margin below the setting: 15 % of it, at least
 * 25 ms and at most 100 ms, never more than half of it; 0 (no limit) stays 0. Pure.
 */
export function serverLockTimeoutMs(attemptMs: number): number {
  if (attemptMs <= 0) return 0;
  const margin = Math.min(Math.max(attemptMs * 0.15, 25), 100, attemptMs / 2);
  return Math.max(1, Math.round(attemptMs - margin));
}

/** Pause before attempt n+1: exponential from 200 ms, at most 5 s, jittered within its upper half. */
export function backoffMs(attempt: number, random = Math.random): number {
  const ceiling = Math.min(200 * 2 ** (attempt - 1), 5_000);
  return Math.round(ceiling * (0.5 + random() / 2));
}
