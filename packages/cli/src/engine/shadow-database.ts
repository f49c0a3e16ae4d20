/**
 * Temporary shadow databases: named after their host and pid, so a run on the same host can
 * tell a leftover of a process that died (SIGKILL, a crash) from one still in use, and drop it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { quoteIdent } from '../config/target.js';

/** Prefix of the temporary shadow databases, so a leftover is easy to recognise (and to test for). */
export const SHADOW_DATABASE_PREFIX = 'digilog_shadow_';
/**
 * This host in shadow database names: pids only mean something on the host that
 * issued them, so only a run on the same host may judge a leftover abandoned.
 */
export const SHADOW_HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `digilog_shadow_<host>_<pid>_<random>`: whose shadow database it is, so a leftover of a dead process can be told from one in use. */
export function shadowDatabaseName(pid: number = process.pid): string {
  return `${SHADOW_DATABASE_PREFIX}${SHADOW_HOST_TAG}_${pid}_${randomBytes(6).toString('hex')}`;
}

/** Host tag and pid in a shadow database name; `host` is null in the older `digilog_shadow_<pid>_<random>` names. Null for other names. */
export function parseShadowDatabaseName(name: string): { host: string | null; pid: number } | null {
  const match = /^digilog_shadow_(?:([0-9a-f]{8})_)?(\d+)_[0-9a-f]{12}$/.exec(name);
  return match ? { host: match[1] ?? null, pid: Number(match[2]) } : null;
}

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Drops the shadow databases that processes of this host created and could not drop because
 * they died first (SIGKILL, a second Ctrl-C, a crash): only names with this host's tag whose
 * pid no longer runs. Another host's pids cannot be checked from here; a live pid may be using
 * its database. Best effort: a role that may not drop them leaves them.
 * `run` executes one statement on a maintenance session of the server.
 */
export async function dropAbandonedShadows(run: (sql: string) => Promise<pg.QueryResult>): Promise<void> {
  const pattern = `${SHADOW_DATABASE_PREFIX}${SHADOW_HOST_TAG}_`.replace(/_/g, '\\_');
  const { rows } = await run(`SELECT datname FROM pg_database WHERE datname LIKE '${pattern}%'`);
  for (const { datname } of rows as Array<{ datname: string }>) {
    const owner = parseShadowDatabaseName(datname);
    if (owner?.host !== SHADOW_HOST_TAG || processAlive(owner.pid)) continue;
    await run(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`).catch(() => {});
  }
}
