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
 *     quotes, literals and comments survives (a file the runner applies
 *     statement by statement is split by PostgreSQL's parser instead);
 *  4. all work of one adapter runs on one pinned session, so the engine's
 *     session-level advisory lock and the migration it guards share it.
 * Shadow databases are named after their host and pid, registered for
 * clean-up before they exist, and a later run on the same host drops those of
 * processes that died before they could. A shadow database can also be filled
 * by the caller (prepareShadow) and be a second engine's main database (engineOn).
 */
import type { ErrorCapturingSqlMigrationAwareDriverAdapterFactory, SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { executionModeOf, parseStatements } from '../plan/execution-mode.js';
import { acquireMigrationLock, type LockOptions } from '../db/lock.js';
import { parseTarget, quoteIdent, withDatabase, type DatabaseTarget } from '../config/target.js';
import { reportCharAsCharacter } from './char-columns.js';
import { maintenance, pinnedSession, type PinnedSession } from './pinned-session.js';
import { dropAbandonedShadows, shadowDatabaseName } from './shadow-database.js';

// Shadow database naming lives in shadow-database.ts; re-exported for the modules and tests that import it from here.
export { SHADOW_DATABASE_PREFIX, SHADOW_HOST_TAG, parseShadowDatabaseName, shadowDatabaseName } from './shadow-database.js';

/** Input of createEngineAdapterFactory. */
export interface EngineAdapterOptions {
  /** Prisma-style URL of the database the engine works on; `?schema=` selects the schema (default `public`). */
  connectionString: string;
  /** A dedicated database to use as shadow; its schema is emptied before each use. Without it, a temporary database is created per use. */
  shadowDatabaseUrl?: string | undefined;
  /** `application_name` of the sessions, visible in pg_stat_activity next to the advisory lock. */
  applicationName?: string | undefined;
  /**
   * Keep each temporary shadow database until close() instead of dropping it when the engine lets
   * go of it, so the state the engine last replayed can be read afterwards (lastShadowUrl()).
   */
  keepShadows?: boolean | undefined;
}

/** What the engine is given, plus the clean-up the engine itself does not guarantee. */
export interface EngineAdapterFactory {
  /** Pass this to `SchemaEngine.new` as its adapter. */
  readonly bound: ErrorCapturingSqlMigrationAwareDriverAdapterFactory;
  /** Temporary shadow databases created (or being created) and not dropped yet (empty after close()). */
  liveShadowDatabases(): string[];
  /**
   * Prisma-style URL of the shadow database the engine connected to last, still holding what it
   * replayed there: with `keepShadows`, or with a dedicated shadow database (emptied only at its next use).
   */
  lastShadowUrl(): string | undefined;
  /**
   * A temporary shadow database the engine did not ask for, kept until close(): `fill` runs on a
   * session of it (with the engine adapter's executeScript, so scripts run exactly as in the
   * engine's replays), which is closed after. Returns its Prisma-style URL.
   */
  prepareShadow(fill: (executeScript: (script: string) => Promise<void>, url: string) => Promise<void>): Promise<string>;
  /** Creates now the temporary shadow database the engine's next request gets (CREATE DATABASE takes ~0.1 s), while other work goes on. */
  reserveShadow(): void;
  /**
   * For another engine, whose main database is `url` (a shadow database prepareShadow() is still
   * filling): what to pass to its SchemaEngine.new. It shares this factory's sessions and shadow
   * databases, so this factory's close() ends and drops them too; `adapt` wraps its main adapter.
   */
  engineOn(url: Promise<string>, adapt: (adapter: SqlDriverAdapter) => SqlDriverAdapter): ErrorCapturingSqlMigrationAwareDriverAdapterFactory;
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
  /** The shadow the engine connected to last; `temporary` ones count only while not dropped. */
  let lastShadow: { target: DatabaseTarget; temporary: boolean } | undefined;

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
    // Except for a file the runner applies statement by statement (CREATE INDEX CONCURRENTLY among others, split
    // like Prisma 7.4+ does, or `-- digilog:no-transaction`): as one query it fails with 25001, so the shadow
    // database could not replay a history that `migrate` applies.
    adapter.executeScript = async (script: string) => {
      try {
        if ((await executionModeOf(script)) !== 'statement-by-statement') await pool.query(script);
        else for (const statement of await parseStatements(script)) await pool.query(statement.text);
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
      lastShadow = { target: shadow, temporary: false };
      // The engine asks for a shadow more than once per command; each must start empty.
      const schema = quoteIdent(shadow.schema);
      await adapter.executeScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema};`);
      return adapter;
    }
    const next = reserved ?? createTemporaryShadow();
    reserved = undefined;
    const { name, target } = await next;
    try {
      // Defect 2: close our own session first, then drop; the stock adapter dropped while still connected.
      const adapter = await connectTo(target, options.keepShadows ? undefined : () => dropShadow(name));
      lastShadow = { target, temporary: true };
      return adapter;
    } catch (error) {
      await dropShadow(name).catch(() => {});
      throw error;
    }
  }

  /** The temporary shadow database the engine's next request gets, created ahead (reserveShadow()). */
  let reserved: Promise<{ name: string; target: DatabaseTarget }> | undefined;

  /** CREATE DATABASE of a new temporary shadow database, registered for clean-up before it exists. */
  async function createTemporaryShadow(): Promise<{ name: string; target: DatabaseTarget }> {
    assertOpen();
    if (!swept) {
      swept = true;
      await dropAbandonedShadows((sql) => maintenance(main, sql, `${applicationName} (shadow)`)).catch(() => {});
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
    return { name, target: withDatabase(main, name) };
  }

  async function prepareShadow(fill: (executeScript: (script: string) => Promise<void>, url: string) => Promise<void>): Promise<string> {
    const { name, target } = await createTemporaryShadow();
    try {
      const adapter = await connectTo(target);
      try {
        await fill((script) => adapter.executeScript(script), prismaUrl(target));
      } finally {
        await adapter.dispose();
      }
      return prismaUrl(target);
    } catch (error) {
      await dropShadow(name).catch(() => {});
      throw error;
    }
  }

  const bind = (connect: () => Promise<SqlDriverAdapter>) =>
    bindMigrationAwareSqlAdapterFactory({ provider: 'postgres', adapterName: '@prisma/adapter-pg', connect, connectToShadowDb } satisfies SqlMigrationAwareDriverAdapterFactory);

  return {
    bound: bind(() => connectTo(main)),
    engineOn: (url, adapt) => bind(async () => adapt(await connectTo(parseTarget(await url)))),
    liveShadowDatabases: () => [...shadows],
    prepareShadow,
    reserveShadow() {
      if (options.shadowDatabaseUrl || reserved) return;
      reserved = createTemporaryShadow();
      reserved.catch(() => {}); // the engine's request for it gets the error
    },
    lastShadowUrl: () => (lastShadow && (!lastShadow.temporary || shadows.has(lastShadow.target.database)) ? prismaUrl(lastShadow.target) : undefined),
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
      // In parallel: a factory that kept its shadow databases (keepShadows) has several to drop.
      await Promise.all([...shadows].map((name) => dropShadow(name).catch((error: unknown) => failures.push(error))));
      if (failures.length > 0) throw new Error(`Could not drop shadow database(s) ${[...shadows].join(', ')}: ${String(failures[0])}`);
    },
  };
}

/** A target as a Prisma-style URL again: its connection string plus the `?schema=` that parseTarget took out. */
function prismaUrl(target: DatabaseTarget): string {
  const url = new URL(target.connectionString);
  url.searchParams.set('schema', target.schema);
  return url.toString();
}
