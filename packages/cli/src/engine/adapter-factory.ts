/**
 * A migration-aware driver adapter factory for Prisma's WASM schema engine,
 * over @prisma/adapter-pg, without the four verified defects of the stock
 * path (NOTES-prisma.md):
 *  1. `"char"` columns (OID 18) are reported as Character, not rejected;
 *  2. connectToShadowDb() creates a uniquely named database and drops it on
 *     dispose after closing its pool (or resets an explicit shadow URL);
 *  3. executeScript() sends the whole script as one simple query;
 *  4. everything of one adapter runs on one pinned connection, so the
 *     engine's advisory lock and its work share a session.
 */
import { randomBytes } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { parseTarget, quoteIdent, withDatabase, type DatabaseTarget } from '../db/target.js';

const CHAR_OID = 18;
const TEXT_OID = 25;

export interface MigrationAdapterOptions {
  databaseUrl: string;
  /** An existing, dedicated database to use as shadow (its schema is emptied first). */
  shadowDatabaseUrl?: string | undefined;
}

/** The factory plus a way to drop any shadow database it still owns (call in `finally` and on Ctrl-C). */
export interface MigrationAdapterFactory {
  factory: ReturnType<typeof bindMigrationAwareSqlAdapterFactory>;
  /** Names of shadow databases created and not yet dropped. */
  liveShadowDatabases(): string[];
  dispose(): Promise<void>;
}

type Query = { sql: string; args: unknown[]; argTypes: unknown[] };
type Queryable = {
  queryRaw(query: Query): Promise<{ columnTypes: number[] }>;
  performIO(query: Query): Promise<{ fields: Array<{ dataTypeID: number }> }>;
  startTransaction?: (...args: unknown[]) => Promise<Queryable>;
  executeScript?: (script: string) => Promise<void>;
  onError(error: unknown): never;
  dispose?: () => Promise<void>;
};

/** Defect 1: let the adapter see OID 18 as text, then report those columns as Character. */
function fixCharColumns<T extends Queryable>(queryable: T): T {
  const charColumns = new WeakMap<Query, number[]>();
  const performIO = queryable.performIO.bind(queryable);
  queryable.performIO = async (query) => {
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
  queryable.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const index of charColumns.get(query) ?? []) result.columnTypes[index] = ColumnTypeEnum.Character;
    return result;
  };
  if (queryable.startTransaction) {
    const startTransaction = queryable.startTransaction.bind(queryable);
    queryable.startTransaction = async (...args) => fixCharColumns(await startTransaction(...args));
  }
  return queryable;
}

/** Defects 3 and 4: one pinned connection, scripts as one simple query. */
async function pinnedAdapter(target: DatabaseTarget): Promise<{ adapter: Queryable; pool: pg.Pool }> {
  // max 1: the lock, the transactions and the scripts all use the same session; never idle it out.
  const pool = new pg.Pool({ connectionString: target.connectionString, max: 1, idleTimeoutMillis: 0, application_name: 'digilog-db engine' });
  pool.on('error', () => {});
  const adapter = fixCharColumns((await new PrismaPg(pool, { schema: target.schema }).connect()) as unknown as Queryable);
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  adapter.dispose = async () => {
    await pool.end();
  };
  return { adapter, pool };
}

async function adminQuery(target: DatabaseTarget, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: target.connectionString, application_name: 'digilog-db shadow' });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Builds the factory. Library code: the caller owns the returned dispose(). */
export function createMigrationAdapterFactory(options: MigrationAdapterOptions): MigrationAdapterFactory {
  const main = parseTarget(options.databaseUrl);
  const shadows = new Set<string>();

  async function connectToShadowDb(): Promise<Queryable> {
    if (options.shadowDatabaseUrl) {
      const shadow = parseTarget(options.shadowDatabaseUrl);
      // The engine asks for a shadow more than once per command: it must be empty every time.
      await adminQuery(shadow, `DROP SCHEMA IF EXISTS ${quoteIdent(shadow.schema)} CASCADE; CREATE SCHEMA ${quoteIdent(shadow.schema)};`);
      return (await pinnedAdapter(shadow)).adapter;
    }
    const name = `digilog_shadow_${process.pid}_${randomBytes(4).toString('hex')}`;
    await adminQuery(main, `CREATE DATABASE ${quoteIdent(name)}`);
    shadows.add(name);
    const { adapter, pool } = await pinnedAdapter({ ...withDatabase(main, name), schema: main.schema });
    adapter.dispose = async () => {
      // Close our own connection first, then drop: the stock adapter dropped while connected and leaked.
      await pool.end().catch(() => {});
      await dropShadow(name);
    };
    return adapter;
  }

  async function dropShadow(name: string): Promise<void> {
    await adminQuery(main, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    shadows.delete(name);
  }

  const factory = bindMigrationAwareSqlAdapterFactory({
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: async () => (await pinnedAdapter(main)).adapter,
    connectToShadowDb,
  } as unknown as Parameters<typeof bindMigrationAwareSqlAdapterFactory>[0]);

  return {
    factory,
    liveShadowDatabases: () => [...shadows],
    dispose: async () => {
      await Promise.all([...shadows].map((name) => dropShadow(name).catch(() => {})));
    },
  };
}
