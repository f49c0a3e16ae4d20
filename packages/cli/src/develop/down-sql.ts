/**
 * `down-sql <migration>`: (re)generates the down.sql of an existing migration, the schema
 * engine's diff from the history up to and including it to the history before it, both replayed
 * in shadow databases. Reads no database state (only the shadow databases are used).
 */
import { adjustDownSql } from '../plan/down-steps.js';
import { diffHistory, engineSchema, writeDownFile } from '../engine/down-script.js';
import { withSchemaEngine } from '../engine/load-schema-engine.js';
import { migrationsList } from '../read/engine-input.js';
import { withEngineSignals } from '../engine/with-engine.js';
import { DigilogError } from '../errors.js';
import { readMigrations } from '../read/migrations-folder.js';

export interface DownSqlOptions {
  /** The database the engine's adapter connects to (the shadow databases are created on its server). */
  databaseUrl: string;
  shadowDatabaseUrl: string | undefined;
  migrationsDir: string;
  schemaPath: string | undefined;
  migration: string;
  /** Only compute it: write nothing. */
  print?: boolean;
  /** The run's stop signal: the shadow databases are dropped and the command ends with 130/143. */
  signal?: AbortSignal | undefined;
}

export interface DownSqlResult {
  migration: string;
  /** The written down.sql, or null with `print`. */
  path: string | null;
  sql: string;
  /** What the down SQL does not undo (data changes, functions, …). */
  notes: string[];
}

/** Computes (and writes, unless `print`) the down.sql of one migration. Throws `usage` for an unknown migration. */
export async function downSql(options: DownSqlOptions): Promise<DownSqlResult> {
  const local = readMigrations(options.migrationsDir);
  const index = local.findIndex((m) => m.name === options.migration);
  if (index === -1) {
    throw new DigilogError('usage', `Unknown migration "${options.migration}": no such folder in ${options.migrationsDir}`, {
      hint: 'Pass the folder name of a migration, e.g. 20240101000000_init.',
      details: { migration: options.migration },
    });
  }
  const { schemaPath, schemaText } = engineSchema(options.schemaPath, options.migrationsDir);
  const list = migrationsList(options.migrationsDir);
  const computed = await withEngineSignals({ ...options, keepShadows: true }, (adapters) =>
    withSchemaEngine({ schemaPath, schemaText, adapters }, (engine) => diffHistory(engine, adapters, list, index + 1, index)),
  );
  const { body, notes } = await adjustDownSql(computed, [local[index]!]);
  const path = options.print ? null : writeDownFile(options.migrationsDir, options.migration, body);
  return { migration: options.migration, path, sql: body, notes };
}
