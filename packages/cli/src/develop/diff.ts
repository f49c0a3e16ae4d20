/** `diff`: SQL that takes the migration history, the live database, or an empty database to the schema. */
import { dirname } from 'node:path';
import { migrationsList } from '../read/engine-input.js';
import { NO_FILTERS, schemaContainer, withEngine, type EngineOptions } from '../engine/with-engine.js';

export interface DiffOptions extends EngineOptions {
  migrationsDir: string;
  from: 'migrations' | 'database' | 'empty';
}

export interface DiffResult {
  /** Empty when the schema matches. */
  sql: string;
  changed: boolean;
}

export async function diff(options: DiffOptions): Promise<DiffResult> {
  const from =
    options.from === 'empty'
      ? { tag: 'empty' as const }
      : options.from === 'database'
        ? // The schema's datasource, reached through the adapter's main connection: the live database.
          { tag: 'schemaDatasource' as const, ...schemaContainer(options), configDir: dirname(options.schemaPath) }
        : { tag: 'migrations' as const, ...migrationsList(options.migrationsDir) };
  const result = await withEngine(options, (engine) =>
    engine.diff({ from, to: { tag: 'schemaDatamodel', ...schemaContainer(options) }, script: true, exitCode: true, filters: NO_FILTERS }),
  );
  const sql = (result.stdout ?? '').trim();
  return { sql, changed: result.exitCode === 2 };
}
