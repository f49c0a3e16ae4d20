/**
 * The objects of a database that Prisma's schema engine does not describe (functions, triggers,
 * standalone sequences, views, extensions, CHECK constraints), the indexes it may miss (partial or
 * expression indexes, which it does not always describe), each with the SQL that creates and drops it, and the
 * indexes that back a constraint (the engine takes a UNIQUE constraint for a unique index and
 * would DROP INDEX it, which PostgreSQL refuses). Read-only catalog queries; the definitions come
 * from PostgreSQL itself (pg_get_functiondef, pg_get_triggerdef, pg_get_viewdef,
 * pg_get_constraintdef), so re-creating one gives back what pg_dump shows.
 */
import type pg from 'pg';
import { quoteIdent } from '../config/target.js';

/** Kinds of objects outside the schema engine's model (Prisma ignores CHECK constraints too). */
export type ObjectKind = 'extension' | 'function' | 'sequence' | 'view' | 'trigger' | 'check' | 'index';

/** One such object: `name` is its bare name, `key` identifies it (schema, arguments, table). */
export interface SchemaObject {
  kind: ObjectKind;
  key: string;
  name: string;
  /** The table a trigger or CHECK constraint belongs to (bare name). */
  table?: string;
  create: string;
  drop: string;
}

/** A constraint by the name of its index. */
export interface ConstraintIndex {
  /** The constraint's own name (usually its index's). */
  name: string;
  /** `"schema"."table"`, quoted. */
  table: string;
  /** `UNIQUE ("a", "b") DEFERRABLE`, as pg_get_constraintdef prints it. */
  definition: string;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;
/** Not created by an extension (those go and come with it). */
const NOT_FROM_EXTENSION = (oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = ${oid} AND d.deptype = 'e')`;

/** Every such object of the database's user schemas, by key. */
export async function readSchemaObjects(client: pg.Client): Promise<Map<string, SchemaObject>> {
  const found = new Map<string, SchemaObject>();
  const add = (object: SchemaObject) => found.set(`${object.kind}:${object.key}`, object);
  const version = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
  for (const r of (await client.query<{ name: string; schema: string }>(`SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'`)).rows) {
    add({ kind: 'extension', key: r.name, name: r.name, create: `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(r.name)} WITH SCHEMA ${quoteIdent(r.schema)};`, drop: `DROP EXTENSION IF EXISTS ${quoteIdent(r.name)};` });
  }
  const functions = await client.query<{ schema: string; name: string; args: string; def: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS} AND p.prokind IN ('f', 'p') AND ${NOT_FROM_EXTENSION('p.oid')}`,
  );
  for (const r of functions.rows) {
    const qualified = `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
    add({ kind: 'function', key: `${r.schema}.${r.name}(${r.args})`, name: r.name, create: `${r.def.trimEnd()};`, drop: `DROP FUNCTION IF EXISTS ${qualified}(${r.args});` });
  }
  const sequences = await client.query<{ schema: string; name: string; type: string; start: string; inc: string; min: string; max: string; cache: string; cycle: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start, s.seqincrement::text AS inc,
            s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle
       FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMAS} AND ${NOT_FROM_EXTENSION('c.oid')}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))`,
  );
  for (const r of sequences.rows) {
    const qualified = `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
    const create = `CREATE SEQUENCE IF NOT EXISTS ${qualified} AS ${r.type} INCREMENT BY ${r.inc} MINVALUE ${r.min} MAXVALUE ${r.max} START WITH ${r.start} CACHE ${r.cache}${r.cycle ? ' CYCLE' : ''};`;
    add({ kind: 'sequence', key: `${r.schema}.${r.name}`, name: r.name, create, drop: `DROP SEQUENCE IF EXISTS ${qualified};` });
  }
  const views = await client.query<{ schema: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_viewdef(c.oid) AS def FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} AND c.relkind = 'v' AND ${NOT_FROM_EXTENSION('c.oid')}`,
  );
  for (const r of views.rows) {
    const qualified = `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
    add({ kind: 'view', key: `${r.schema}.${r.name}`, name: r.name, create: `CREATE OR REPLACE VIEW ${qualified} AS\n${r.def.trim().replace(/;$/, '')};`, drop: `DROP VIEW IF EXISTS ${qualified};` });
  }
  const triggers = await client.query<{ schema: string; table: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, t.tgname AS name, pg_get_triggerdef(t.oid) AS def
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_SCHEMAS} AND NOT t.tgisinternal`,
  );
  for (const r of triggers.rows) {
    // PostgreSQL 14+ can replace a trigger: the create is then idempotent, like the others'.
    const create = version >= 140000 ? r.def.replace(/^CREATE TRIGGER/, 'CREATE OR REPLACE TRIGGER') : r.def;
    add({ kind: 'trigger', key: `${r.schema}.${r.table}.${r.name}`, name: r.name, table: r.table, create: `${create};`, drop: `DROP TRIGGER IF EXISTS ${quoteIdent(r.name)} ON ${quoteIdent(r.schema)}.${quoteIdent(r.table)};` });
  }
  const checks = await client.query<{ schema: string; table: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE ${USER_SCHEMAS} AND c.contype = 'c' AND t.relkind IN ('r', 'p') AND c.conislocal`,
  );
  for (const r of checks.rows) {
    const table = `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;
    add({ kind: 'check', key: `${r.schema}.${r.table}.${r.name}`, name: r.name, table: r.table, create: `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(r.name)} ${r.def};`, drop: `ALTER TABLE IF EXISTS ${table} DROP CONSTRAINT IF EXISTS ${quoteIdent(r.name)};` });
  }
  const indexes = await client.query<{ schema: string; table: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace
      WHERE ${USER_SCHEMAS} AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) AND ${NOT_FROM_EXTENSION('i.oid')}`,
  );
  for (const r of indexes.rows) {
    add({ kind: 'index', key: `${r.schema}.${r.name}`, name: r.name, table: r.table, create: `${r.def};`, drop: `DROP INDEX IF EXISTS ${quoteIdent(r.schema)}.${quoteIdent(r.name)};` });
  }
  return found;
}

/** UNIQUE, PRIMARY KEY and EXCLUDE constraints of `schema`, by the name of the index behind each. */
export async function readConstraintIndexes(client: pg.Client, schema: string): Promise<Map<string, ConstraintIndex>> {
  const { rows } = await client.query<{ index: string; name: string; table: string; definition: string }>(
    `SELECT i.relname AS index, c.conname AS name, quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS table, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c JOIN pg_class i ON i.oid = c.conindid JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND c.contype IN ('u', 'p', 'x')`,
    [schema],
  );
  return new Map(rows.map((r) => [r.index, { name: r.name, table: r.table, definition: r.definition }]));
}
