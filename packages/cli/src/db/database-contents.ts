/**
 * What a database holds outside PostgreSQL's own schemas, and how to drop it again: what the
 * scratch database of `migrate --dry-run --trace` must be empty of before the dry run fills it,
 * and what it empties afterwards (as Prisma resets its shadow database). Objects an extension
 * created go and come with the extension.
 */
import type pg from 'pg';
import { quoteIdent } from '../config/target.js';

/** One user object: how to name it to a human, and the statement that drops it. */
export interface UserObject {
  /** `table "public"."User"`. */
  describe: string;
  drop: string;
}

/** Schemas and extensions present before a run: a run's own are dropped whole afterwards. */
export interface DatabaseBaseline {
  schemas: string[];
  extensions: string[];
}

const USER_SCHEMA = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;
const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = ${oid} AND d.deptype = 'e')`;
const RELATION_KIND: Record<string, string> = { r: 'TABLE', p: 'TABLE', v: 'VIEW', m: 'MATERIALIZED VIEW', S: 'SEQUENCE', f: 'FOREIGN TABLE' };
const TYPE_KIND: Record<string, string> = { e: 'TYPE', r: 'TYPE', c: 'TYPE', d: 'DOMAIN' };
const ROUTINE_KIND: Record<string, string> = { f: 'FUNCTION', p: 'PROCEDURE', a: 'AGGREGATE', w: 'FUNCTION' };

/**
 * The tables, views, sequences, types and routines of the user schemas, in an order that drops
 * cleanly (tables first: their CASCADE takes dependent views, owned sequences and constraints with them).
 */
export async function readUserObjects(client: pg.Client): Promise<UserObject[]> {
  const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const relations = await client.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMA} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${NOT_FROM_EXTENSION('c.oid')} ORDER BY c.relkind IN ('r', 'p') DESC, c.oid`,
  );
  const types = await client.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, t.typname AS name, t.typtype::text AS kind FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_SCHEMA} AND t.typtype IN ('e', 'r', 'c', 'd') AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND ${NOT_FROM_EXTENSION('t.oid')} ORDER BY t.oid`,
  );
  const routines = await client.query<{ schema: string; name: string; kind: string; args: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, p.prokind::text AS kind, pg_get_function_identity_arguments(p.oid) AS args FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_SCHEMA} AND ${NOT_FROM_EXTENSION('p.oid')} ORDER BY p.oid`,
  );
  const object = (kind: string, name: string, suffix = '') => ({ describe: `${kind.toLowerCase()} ${name}`, drop: `DROP ${kind} IF EXISTS ${name}${suffix} CASCADE` });
  return [
    ...relations.rows.map((r) => object(RELATION_KIND[r.kind]!, qualified(r.schema, r.name))),
    ...types.rows.map((t) => object(TYPE_KIND[t.kind]!, qualified(t.schema, t.name))),
    ...routines.rows.map((p) => object(ROUTINE_KIND[p.kind] ?? 'FUNCTION', qualified(p.schema, p.name), `(${p.args})`)),
  ];
}

/**
 * Which database of which running server a session is on: the database's oid and name and the
 * server's start time. Two URLs that reach one database by different routes (a socket and TCP, a
 * host name and its address) give the same identity; two servers practically never do.
 */
export async function databaseIdentity(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT d.oid::text || '/' || d.datname || '@' || pg_postmaster_start_time()::text AS id FROM pg_database d WHERE d.datname = current_database()`,
  );
  return rows[0]!.id;
}

/** The user schemas and extensions there are now. */
export async function readBaseline(client: pg.Client): Promise<DatabaseBaseline> {
  const schemas = await client.query<{ name: string }>(`SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_SCHEMA}`);
  const extensions = await client.query<{ name: string }>(`SELECT extname AS name FROM pg_extension`);
  return { schemas: schemas.rows.map((r) => r.name), extensions: extensions.rows.map((r) => r.name) };
}

/**
 * Drops what was created since `baseline`: new schemas and extensions whole, and every user object
 * of the schemas that were there (they were empty then). Returns what is still there (none: clean).
 */
export async function dropCreatedSince(client: pg.Client, baseline: DatabaseBaseline): Promise<UserObject[]> {
  const now = await readBaseline(client);
  // Each drop on its own: one this role may not make leaves its object, which the result then names.
  const drop = (sql: string) => client.query(sql).catch(() => {});
  for (const schema of now.schemas.filter((s) => !baseline.schemas.includes(s))) await drop(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  for (const extension of now.extensions.filter((e) => !baseline.extensions.includes(e))) await drop(`DROP EXTENSION IF EXISTS ${quoteIdent(extension)} CASCADE`);
  for (const object of await readUserObjects(client)) await drop(object.drop);
  return readUserObjects(client);
}
