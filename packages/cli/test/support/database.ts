/**
 * Test databases: each test file creates databases with unique names on the
 * real PostgreSQL server (TEST_DATABASE_URL, default postgres@127.0.0.1:5432)
 * and drops them afterwards. Nothing else on the server is touched.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { processAlive } from './process.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  /** Connection string for the new database (same credentials as the admin URL). */
  url: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}

export function urlFor(database: string, base = ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function adminQuery<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, url = ADMIN_URL): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A unique database name with a readable prefix (lower case, fits in 63 bytes). */
export function uniqueName(prefix = 'digilog_test'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Creates an empty database; `create: false` only reserves a name (for "migrate creates it" tests). */
export async function createTestDatabase(prefix?: string, { create = true } = {}): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  if (create) await adminQuery(`CREATE DATABASE "${name}"`);
  const url = urlFor(name);
  return {
    name,
    url,
    query: (sql) => adminQuery(sql, url),
    drop: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * For one test file: returns a function that creates a database and records
 * it; every database it created is dropped after the file's tests.
 */
export function testDatabases(): (prefix?: string, options?: { create?: boolean }) => Promise<TestDatabase> {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((db) => db.drop()));
  });
  return async (prefix, options) => {
    const db = await createTestDatabase(prefix, options);
    created.push(db);
    return db;
  };
}

/** Names of the temporary shadow databases on the server right now. */
export async function shadowDatabases(): Promise<string[]> {
  const rows = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'digilog\\_shadow\\_%'`);
  return rows.map((r) => r.datname);
}

/** The creating pid in a shadow database name: `digilog_shadow_<host>_<pid>_<random>`, or the older `digilog_shadow_<pid>_<random>`. */
export function shadowOwnerPid(name: string): number {
  return Number(/^digilog_shadow_(?:[0-9a-f]{8}_)?(\d+)_[0-9a-f]{12}$/.exec(name)?.[1] ?? Number.NaN);
}

/**
 * Shadow databases created since `before` whose creating process has exited: leaks.
 * (Other test files running `dev` at the same time own live shadows; their process is alive.)
 */
export async function leakedShadows(before: string[]): Promise<string[]> {
  return (await shadowDatabases()).filter((name) => !before.includes(name) && !processAlive(shadowOwnerPid(name)));
}

/** A login role with a password, so a test can search every output for that password. */
export interface PasswordRole {
  name: string;
  password: string;
  /** Creates the role if it does not exist yet. */
  create(): Promise<void>;
  /** Drops it (drop the databases it owns first). */
  drop(): Promise<void>;
  /** Gives the database and its public schema to the role; returns its URL with the role's credentials. */
  own(db: TestDatabase): Promise<string>;
  /** The URL of a database, logged in as the role (password percent-encoded). */
  urlFor(database: string): string;
}

export function passwordRole(name: string, password: string, { createdb = false }: { createdb?: boolean } = {}): PasswordRole {
  const roleUrl = (database: string) => {
    const url = new URL(urlFor(database));
    url.username = name;
    url.password = encodeURIComponent(password);
    return url.toString();
  };
  return {
    name,
    password,
    create: () =>
      adminQuery(`DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}') THEN
    CREATE ROLE ${name} LOGIN${createdb ? ' CREATEDB' : ''} PASSWORD '${password.replace(/'/g, "''")}';
  END IF; END $$`).then(() => {}),
    drop: () => adminQuery(`DROP ROLE IF EXISTS ${name}`).then(() => {}),
    async own(db) {
      await adminQuery(`ALTER DATABASE "${db.name}" OWNER TO ${name}`);
      await db.query(`ALTER SCHEMA public OWNER TO ${name}`);
      return roleUrl(db.name);
    },
    urlFor: roleUrl,
  };
}

/** The outcome of each statement, run in order on one session of `url` (e.g. as a restricted role): 'ok' or the SQLSTATE. */
export async function attempt(url: string, statements: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const codes: string[] = [];
    for (const sql of statements) codes.push(await client.query(sql).then(() => 'ok', (e: { code?: string }) => e.code ?? 'error'));
    return codes;
  } finally {
    await client.end();
  }
}
