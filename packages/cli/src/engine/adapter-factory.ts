/**
 * The migration-aware driver adapter factory that Prisma's WASM schema engine
 * runs on: @prisma/adapter-pg over node-postgres, minus the four defects
 * verified in NOTES-prisma.md:
 *  1. `"char"` columns (OID 18) reach the engine as Character instead of
 *     failing with UnsupportedNativeDataType (the schema describer reads them);
 *  2. connectToShadowDb() really connects to a separate, empty database and
 *     never leaks it (closes its pool first, then drops it WITH (FORCE));
 *  3. executeScript() sends the whole script as ONE simple-protocol query, so
 *     PostgreSQL runs it as one implicit transaction and `;` inside dollar
 *     quotes, literals and comments survives;
 *  4. all work of one adapter runs on one pinned session, so the engine's
 *     session-level advisory lock and the migration it guards share it.
 * Shadow databases are named after their host and pid, registered for
 * clean-up before they exist, and a later run on the same host drops those of
 * processes that died before they could.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  ErrorCapturingSqlMigrationAwareDriverAdapterFactory,
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  SqlQueryable,
  SqlResultSet,
} from '@prisma/driver-adapter-utils';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { acquireMigrationLock, type LockOptions } from '../db/lock.js';
import { optionValue, parseTarget, pgConnection, quoteIdent, withDatabase, type DatabaseTarget } from '../db/target.js';

const CHAR_OID = 18;
const TEXT_OID = 25;
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

/** Input of createEngineAdapterFactory. */
export interface EngineAdapterOptions {
  /** Prisma-style URL of the database the engine works on; `?schema=` selects the schema (default `public`). */
  connectionString: string;
  /** A dedicated database to use as shadow; its schema is emptied before each use. Without it, a temporary database is created per use. */
  shadowDatabaseUrl?: string | undefined;
  /** `application_name` of the sessions, visible in pg_stat_activity next to the advisory lock. */
  applicationName?: string | undefined;
}

/** What the engine is given, plus the clean-up the engine itself does not guarantee. */
export interface EngineAdapterFactory {
  /** Pass this to `SchemaEngine.new` as its adapter. */
  readonly bound: ErrorCapturingSqlMigrationAwareDriverAdapterFactory;
  /** Temporary shadow databases created (or being created) and not dropped yet (empty after close()). */
  liveShadowDatabases(): string[];
  /**
   * Takes Prisma's migration lock, waiting like `migrate` does, on the session the engine's
   * next connect() gets, so the engine diagnoses only while no migration runs. The engine's own
   * `pg_advisory_lock` in applyMigrations then nests on that session instead of waiting for it
   * forever; closing the session releases both. Returns how long it waited.
   */
  lockMigrations(lock: LockOptions): Promise<number>;
  /** Closes every session this factory opened (releasing the advisory lock with them) and drops leftover shadow databases. Idempotent. */
  close(): Promise<void>;
}

/**
 * Prisma's adapter packages, loaded only by the commands that run the schema engine:
 * every `migrate`, `status` and `health` would otherwise pay for loading them (~8 ms).
 */
async function loadPrismaAdapter() {
  const [{ PrismaPg }, utils] = await Promise.all([import('@prisma/adapter-pg'), import('@prisma/driver-adapter-utils')]);
  return { PrismaPg, ...utils };
}

let installed: typeof pg | undefined;
/**
 * The pools handed to PrismaPg come from the same node-postgres it imports (it checks
 * `instanceof pg.Pool`): the installed package, not the copy bundled into the CLI, required
 * on first use for the same reason as the adapter packages.
 */
const installedPg = (): typeof pg => (installed ??= createRequire(import.meta.url)('pg') as typeof pg);
type PrismaAdapter = Awaited<ReturnType<typeof loadPrismaAdapter>>;

/** The adapter's result-producing step; private in its typings, present at run time (checked below). */
type WithPerformIO = { performIO(query: SqlQuery): Promise<pg.QueryArrayResult> };

/**
 * Defect 1. adapter-pg throws on OID 18 before the engine sees a row, and
 * mapping it to Text is not enough (the describer wants Character). So the
 * fields are relabelled text for the adapter, and the column types fixed in
 * the result. Transactions are wrapped the same way.
 */
function reportCharAsCharacter<T extends SqlQueryable>(queryable: T, characterType: PrismaAdapter['ColumnTypeEnum']['Character']): T {
  const internals = queryable as unknown as WithPerformIO;
  if (typeof internals.performIO !== 'function') {
    throw new Error('@prisma/adapter-pg changed: performIO() not found; the "char" column work-around needs updating');
  }
  const charColumns = new WeakMap<SqlQuery, number[]>();
  const performIO = internals.performIO.bind(queryable);
  internals.performIO = async (query) => {
    const result = await performIO(query);
    const indexes: number[] = [];
    result.fields.forEach((field, index) => {
      if (field.dataTypeID === CHAR_OID) {
        field.dataTypeID = TEXT_OID;
        indexes.push(index);
      }
    });
    if (indexes.length > 0) charColumns.set(query, indexes);
    return result;
  };
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query: SqlQuery): Promise<SqlResultSet> => {
    const result = await queryRaw(query);
    for (const index of charColumns.get(query) ?? []) result.columnTypes[index] = characterType;
    return result;
  };
  const adapter = queryable as unknown as Partial<SqlDriverAdapter>;
  if (adapter.startTransaction) {
    const startTransaction = adapter.startTransaction.bind(queryable);
    adapter.startTransaction = async (isolationLevel) => reportCharAsCharacter(await startTransaction(isolationLevel), characterType);
  }
  return queryable;
}

/** One pinned session (defect 4) and the target it belongs to. */
interface PinnedSession {
  pool: pg.Pool;
  target: DatabaseTarget;
  /** The client while a query or transaction is running on it. */
  busy: pg.PoolClient | undefined;
}

/** A pool of exactly one connection that never idles out and survives failing queries. */
function pinnedSession(target: DatabaseTarget, applicationName: string): PinnedSession {
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
async function maintenance(target: DatabaseTarget, sql: string, applicationName: string): Promise<pg.QueryResult> {
  const client = new (installedPg().Client)({ ...pgConnection(target), application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Builds the engine's adapter factory. The caller owns close(): call it in `finally`, also when the engine call threw. */
export async function createEngineAdapterFactory(options: EngineAdapterOptions): Promise<EngineAdapterFactory> {
  const { PrismaPg, ColumnTypeEnum, DriverAdapterError, bindMigrationAwareSqlAdapterFactory } = await loadPrismaAdapter();
  const main = parseTarget(options.connectionString);
  const applicationName = options.applicationName ?? 'digilog-db schema engine';
  const sessions = new Set<PinnedSession>();
  const shadows = new Set<string>();
  /** CREATE DATABASE statements under way: close() waits for them, or a database created just after it would leak. */
  const creating = new Set<Promise<unknown>>();
  /** The locked session of lockMigrations(), handed to the engine's first connect(). */
  let locked: PinnedSession | undefined;
  let swept = false;
  let closing = false;

  /** Once close() began (Ctrl-C) nothing new is opened: close() could no longer see it. */
  function assertOpen(): void {
    if (!closing) return;
    throw new DriverAdapterError({
      kind: 'postgres',
      code: '57014',
      severity: 'ERROR',
      message: 'digilog-db is stopping: no new connection is opened',
      detail: undefined,
      column: undefined,
      hint: undefined,
    });
  }

  function openSession(target: DatabaseTarget): PinnedSession {
    assertOpen();
    const session = pinnedSession(target, applicationName);
    sessions.add(session);
    return session;
  }

  async function endSession(session: PinnedSession): Promise<void> {
    if (!sessions.delete(session)) return;
    const pid = (session.busy as { processID?: number } | undefined)?.processID;
    if (pid) {
      // Still busy after the engine gave up, e.g. its 10 s lock timeout left `pg_advisory_lock` waiting:
      // pool.end() would wait for that query forever, and the backend would take the lock later.
      // The two-argument form (PostgreSQL 14+) waits until the backend is gone; older servers get the plain one.
      const cleanup = `${applicationName} (cleanup)`;
      await maintenance(session.target, `SELECT pg_terminate_backend(${Number(pid)}, 5000)`, cleanup)
        .catch(() => maintenance(session.target, `SELECT pg_terminate_backend(${Number(pid)})`, cleanup))
        .catch(() => {});
    }
    await session.pool.end().catch(() => {});
  }

  async function dropShadow(name: string): Promise<void> {
    if (!shadows.has(name)) return;
    await maintenance(main, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`, `${applicationName} (shadow)`);
    shadows.delete(name);
  }

  /**
   * Drops the shadow databases that processes of this host created and could not drop because
   * they died first (SIGKILL, a second Ctrl-C, a crash): only names with this host's tag whose
   * pid no longer runs. Another host's pids cannot be checked from here; a live pid may be using
   * its database. Best effort: a role that may not drop them leaves them.
   */
  async function dropAbandonedShadows(): Promise<void> {
    const pattern = `${SHADOW_DATABASE_PREFIX}${SHADOW_HOST_TAG}_`.replace(/_/g, '\\_');
    const { rows } = await maintenance(main, `SELECT datname FROM pg_database WHERE datname LIKE '${pattern}%'`, `${applicationName} (shadow)`);
    for (const { datname } of rows as Array<{ datname: string }>) {
      const owner = parseShadowDatabaseName(datname);
      if (owner?.host !== SHADOW_HOST_TAG || processAlive(owner.pid)) continue;
      await maintenance(main, `DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`, `${applicationName} (shadow)`).catch(() => {});
    }
  }

  /** An adapter on its own pinned session; `onDispose` runs after the session is closed. */
  async function connectTo(target: DatabaseTarget, onDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
    assertOpen();
    let session: PinnedSession;
    if (target === main && locked) {
      session = locked;
      locked = undefined;
    } else {
      session = openSession(target);
    }
    const { pool } = session;
    const adapter = reportCharAsCharacter(await new PrismaPg(pool, { schema: target.schema }).connect(), ColumnTypeEnum.Character);
    const onError = (adapter as unknown as { onError(error: unknown): never }).onError.bind(adapter);
    // Defect 3: no parameters means node-postgres uses the simple protocol, one round trip, one implicit transaction.
    adapter.executeScript = async (script: string) => {
      try {
        await pool.query(script);
      } catch (error) {
        onError(error);
      }
    };
    adapter.dispose = async () => {
      await endSession(session);
      await onDispose?.();
    };
    return adapter;
  }

  async function connectToShadowDb(): Promise<SqlDriverAdapter> {
    if (options.shadowDatabaseUrl) {
      const shadow = parseTarget(options.shadowDatabaseUrl);
      const adapter = await connectTo(shadow);
      // The engine asks for a shadow more than once per command; each must start empty.
      const schema = quoteIdent(shadow.schema);
      await adapter.executeScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};`);
      return adapter;
    }
    assertOpen();
    if (!swept) {
      swept = true;
      await dropAbandonedShadows().catch(() => {});
    }
    const name = shadowDatabaseName();
    // Registered before it exists: a Ctrl-C while CREATE DATABASE runs must still drop it.
    shadows.add(name);
    const creation = maintenance(main, `CREATE DATABASE ${quoteIdent(name)}`, `${applicationName} (shadow)`);
    creating.add(creation);
    try {
      await creation;
    } catch (error) {
      await dropShadow(name).catch(() => {});
      // Anything but a DriverAdapterError reaches the user as "External error id#0".
      const pgError = error as { code?: string; message?: string };
      throw new DriverAdapterError({
        kind: 'postgres',
        code: pgError.code ?? 'N/A',
        severity: 'ERROR',
        message: `Could not create a shadow database on ${main.label}: ${pgError.message ?? String(error)}`,
        detail: undefined,
        column: undefined,
        hint: 'Grant CREATEDB to this user, or pass a dedicated shadow database URL.',
      });
    } finally {
      creating.delete(creation);
    }
    try {
      // Defect 2: close our own session first, then drop; the stock adapter dropped while still connected.
      return await connectTo(withDatabase(main, name), () => dropShadow(name));
    } catch (error) {
      await dropShadow(name).catch(() => {});
      throw error;
    }
  }

  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectTo(main),
    connectToShadowDb,
  };

  return {
    bound: bindMigrationAwareSqlAdapterFactory(factory),
    liveShadowDatabases: () => [...shadows],
    async lockMigrations(lock) {
      const session = (locked ??= openSession(main));
      const client = await session.pool.connect();
      try {
        return await acquireMigrationLock(client, lock);
      } finally {
        client.release();
      }
    },
    close: async () => {
      closing = true;
      // Sessions first (a shadow cannot be dropped cleanly while we are connected to it), then the databases,
      // including one whose CREATE DATABASE is still running (it is dropped once it exists).
      await Promise.all([...sessions].map(endSession));
      await Promise.allSettled([...creating]);
      const failures: unknown[] = [];
      for (const name of [...shadows]) await dropShadow(name).catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw new Error(`Could not drop shadow database(s) ${[...shadows].join(', ')}: ${String(failures[0])}`);
    },
  };
}
