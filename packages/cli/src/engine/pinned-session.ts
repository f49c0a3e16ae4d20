/**
 * The sessions the engine's adapter runs on (defect 4 of NOTES-prisma.md): one pinned
 * connection per adapter, so the engine's session-level advisory lock and the migration it
 * guards share it; plus short-lived maintenance sessions for CREATE/DROP DATABASE.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { optionValue, pgConnection, quoteIdent, type DatabaseTarget } from '../config/target.js';

let installed: typeof pg | undefined;
/**
 * The pools handed to PrismaPg come from the same node-postgres it imports (it checks
 * `instanceof pg.Pool`): the installed package, not the copy bundled into the CLI, required
 * on first use for the same reason as the adapter packages.
 */
const installedPg = (): typeof pg => (installed ??= createRequire(import.meta.url)('pg') as typeof pg);

/** One pinned session (defect 4) and the target it belongs to. */
export interface PinnedSession {
  pool: pg.Pool;
  target: DatabaseTarget;
  /** The client while a query or transaction is running on it. */
  busy: pg.PoolClient | undefined;
}

/** A pool of exactly one connection that never idles out and survives failing queries. */
export function pinnedSession(target: DatabaseTarget, applicationName: string): PinnedSession {
  // Unqualified names in migration scripts resolve in the Prisma schema, as with the native engine.
  // pg lets an `options` URL parameter override the config field, so the two are merged here.
  const connection = pgConnection(target);
  const url = new URL(connection.connectionString!);
  const userOptions = url.searchParams.get('options');
  url.searchParams.delete('options');
  const searchPath = `-c search_path=${optionValue(quoteIdent(target.schema))}`;
  const pool = new (installedPg().Pool)({
    ...connection,
    connectionString: url.toString(),
    max: 1,
    idleTimeoutMillis: 0,
    application_name: applicationName,
    options: userOptions ? `${userOptions} ${searchPath}` : searchPath,
  });
  const session: PinnedSession = { pool, target, busy: undefined };
  // A dropped connection surfaces on the next query; an idle-client error must not crash the process.
  pool.on('error', () => {});
  // Nor one while checked out (the lock wait, a transaction): pg-pool listens only to idle clients,
  // and a session ended by close() (Ctrl-C) would crash the process before the clean-up is done.
  pool.on('connect', (client) => client.on('error', () => {}));
  pool.on('acquire', (client) => (session.busy = client));
  pool.on('release', () => (session.busy = undefined));
  // pg's Pool#query releases the client WITH the error when a query fails, which destroys the
  // session and silently drops the engine's advisory lock (measured: after a failing migration
  // script the bookkeeping ran on a new session, unlocked). Release it without the error:
  // pg-pool still discards a client whose connection is really broken.
  const query = async (config: pg.QueryConfig, values?: unknown[]) => {
    const client = await pool.connect();
    try {
      return await client.query(config, values);
    } finally {
      client.release();
    }
  };
  pool.query = query as unknown as typeof pool.query;
  return session;
}

/** Runs one statement on a short-lived maintenance session (CREATE/DROP DATABASE cannot run in a transaction). */
export async function maintenance(target: DatabaseTarget, sql: string, applicationName: string): Promise<pg.QueryResult> {
  const client = new (installedPg().Client)({ ...pgConnection(target), application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}
