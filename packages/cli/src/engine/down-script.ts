/**
 * Down scripts from Prisma's schema engine: the SQL from the schema after some migrations of the
 * history to the schema before them, each side replayed from the migration files in a shadow
 * database (engine `diff`, migrations → migrations). Both sides are read by the same schema
 * describer, so like is compared with like: nothing depends on how much of the database
 * schema.prisma can express, nor on whether it is up to date.
 *
 * A `down.sql` beside a `migration.sql` is for review and for `digilog-db rollback`: neither
 * digilog-db's `migrate` nor Prisma reads it (Prisma's CLI lists only `migration.sql` of each
 * folder, and the engine's input has no place for another file), and it is not in any checksum.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { isolateEnumAdditions, type EnumOrder } from '../plan/down-steps.js';
import { parseStatements } from '../plan/execution-mode.js';
import { clientConfig, parseTarget } from '../config/target.js';
import type { EngineAdapterFactory } from './adapter-factory.js';
import type { EngineApi, EngineInput } from './load-schema-engine.js';
import { NO_FILTERS } from './with-engine.js';

export const DOWN_FILE = 'down.sql';

/**
 * The schema file the engine is started with: the project's, or, for a migrations folder on its
 * own, a bare PostgreSQL datasource (the engine needs one; only its provider matters to a diff).
 */
export function engineSchema(schemaPath: string | undefined, migrationsDir: string): { schemaPath: string; schemaText: string } {
  if (schemaPath) return { schemaPath, schemaText: readFileSync(schemaPath, 'utf8') };
  return { schemaPath: join(dirname(migrationsDir), 'schema.prisma'), schemaText: 'datasource db {\n  provider = "postgresql"\n}\n' };
}

/** What the engine prints for two identical schemas. */
const EMPTY_SCRIPT = /^\s*--\s*This is an empty migration\.\s*$/;

/** The first `count` migrations of a history, as the engine's input. Pure. */
export function historyPrefix(list: MigrationList, count: number): MigrationList {
  return { ...list, migrationDirectories: list.migrationDirectories.slice(0, count) };
}

/**
 * The SQL that takes the schema of the first `after` migrations back to that of the first `before`
 * ('' when they are the same). The engine replays `before` last, so with a factory that keeps its
 * shadow databases, lastShadowUrl() then holds the schema at `before`.
 */
export async function diffHistory(engine: EngineApi, adapters: EngineAdapterFactory, list: MigrationList, after: number, before: number): Promise<string> {
  return downScript(engine, adapters, historyPrefix(list, after), historyPrefix(list, before));
}

/** One side of an engine diff. */
export type DiffSide = EngineInput<'diff'>['from'];

/**
 * The SQL from the schema of one list of migrations to that of another, both replayed by the
 * engine (runnableDiff); `to` is replayed last, so the enum order is read from the shadow
 * database the factory kept of it (`adapters` keeps its shadow databases).
 */
export async function downScript(engine: EngineApi, adapters: EngineAdapterFactory, from: MigrationList, to: MigrationList): Promise<string> {
  return runnableDiff(engine, { tag: 'migrations', ...from }, { tag: 'migrations', ...to }, () => adapters.lastShadowUrl());
}

/**
 * The SQL from one state to another ('' when they are the same), made runnable: enum values it
 * adds back go in the order of the state it goes to, read from the database that holds it
 * (`toDatabase()`, asked only when there are some), and are committed first (core/down-steps.ts).
 */
export async function runnableDiff(engine: EngineApi, from: DiffSide, to: DiffSide, toDatabase: () => string | undefined | Promise<string>): Promise<string> {
  const result = await engine.diff({ from, to, script: true, exitCode: true, filters: NO_FILTERS });
  const raw = (result.stdout ?? '').trim();
  const sql = result.exitCode === 2 && !EMPTY_SCRIPT.test(raw) ? `${raw}\n` : '';
  if (!/\bADD\s+VALUE\b/i.test(sql)) return sql;
  const shadow = await toDatabase();
  return isolateEnumAdditions(sql, await parseStatements(sql), shadow ? await readEnumOrder(shadow) : new Map());
}

/** Enum labels in order, per type of the URL's schema. */
async function readEnumOrder(url: string): Promise<EnumOrder> {
  const target = parseTarget(url);
  const client = new pg.Client(clientConfig(target, { applicationName: 'digilog-db (enum order)' }));
  await client.connect();
  try {
    const { rows } = await client.query<{ type: string; labels: string[] }>(
      `SELECT t.typname AS type, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = $1 GROUP BY t.typname`,
      [target.schema],
    );
    return new Map(rows.map((r) => [r.type, r.labels]));
  } finally {
    await client.end().catch(() => {});
  }
}

/** The header of a generated down.sql: what it undoes and how it was made (comments only; the SQL follows). */
export function downFileHeader(migration: string): string {
  return [
    `-- down.sql of ${migration}: the SQL that undoes its migration.sql, generated by digilog-db with Prisma's schema`,
    '-- engine (the schema after the migration diffed to the schema before it, both replayed in a shadow database).',
    '-- Review it and commit it; `digilog-db rollback` uses it, `migrate` and Prisma never run it.',
    '',
  ].join('\n');
}

/** Writes `<migrationsDir>/<migration>/down.sql` (header, then the script); returns its path. */
export function writeDownFile(migrationsDir: string, migration: string, sql: string): string {
  const path = join(migrationsDir, migration, DOWN_FILE);
  writeFileSync(path, `${downFileHeader(migration)}${sql || '-- Nothing to undo: the migration does not change the schema.\n'}`);
  return path;
}

/** The committed down.sql of a migration, or null when it has none. */
export function readDownFile(migrationsDir: string, migration: string): string | null {
  const path = join(migrationsDir, migration, DOWN_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}
