/**
 * A history replayed into a temporary shadow database by digilog-db itself, as the schema engine
 * replays one for a `migrations` diff side (prisma-engines, sql_schema_from_migrations_and_db):
 * the connection's schema created when missing, the init script, then each migration.sql through
 * the engine adapter's executeScript (one simple-protocol query, or statement by statement where
 * the runner applies it so). The database then holds what the engine would have described, and
 * the engine can read it as a `schemaDatasource` (the same describer), while it replays another
 * history elsewhere: the two replays run at the same time instead of one after the other.
 */
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { parseTarget, quoteIdent } from '../config/target.js';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import type { EngineAdapterFactory } from './adapter-factory.js';

/** A history being replayed: `opened` once the database and its schema exist, `complete` once every migration is in. */
export interface Replay {
  opened: Promise<string>;
  complete: Promise<string>;
}

/** Replays `list` into a new temporary shadow database of `adapters` (kept until its close()); both promises give its Prisma-style URL. */
export function replayHistory(adapters: EngineAdapterFactory, databaseUrl: string, list: MigrationList): Replay {
  // Shadow databases keep the main URL's ?schema=, as the engine's own do.
  const schema = parseTarget(databaseUrl).schema;
  let onOpened: (url: string) => void = () => {};
  const opened = new Promise<string>((resolve) => (onOpened = resolve));
  const complete = adapters.prepareShadow(async (executeScript, url) => {
    await executeScript(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    onOpened(url);
    if (list.shadowDbInitScript.trim()) await executeScript(list.shadowDbInitScript);
    for (const migration of list.migrationDirectories) {
      const content = migration.migrationFile.content;
      if (content.tag === 'error') throw new Error(`Migration \`${migration.path}\` could not be read: ${content.value}`);
      try {
        await executeScript(content.value);
      } catch (error) {
        // The engine's wording for the same failure (P3006).
        throw new Error(`Migration \`${migration.path}\` failed to apply cleanly to the shadow database.\n${String((error as Error)?.message ?? error)}`, { cause: error });
      }
    }
  });
  // A replay that fails before the database is open fails both.
  return { opened: Promise.race([opened, complete]), complete };
}

/**
 * The factory as a second engine sees it: its main connection goes to the replayed database once
 * that is open, and after hold() its queries there wait for the replay to be complete. Before,
 * they go through: SchemaEngine.new() connects and checks the connection at once (the schema
 * exists, the server version), which the part already replayed answers as the whole would; the
 * describing comes later, in the call. Closing is left to the factory's owner (close() here does
 * nothing): the database and the engine's shadow databases go with the factory.
 */
export function engineOnReplay(adapters: EngineAdapterFactory, replay: Replay): { adapters: EngineAdapterFactory; hold(): void } {
  let holding = false;
  const held = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    for (const method of ['queryRaw', 'executeRaw', 'executeScript', 'startTransaction'] as const) {
      const run = (adapter[method] as (...args: unknown[]) => Promise<unknown>).bind(adapter);
      (adapter[method] as unknown) = async (...args: unknown[]) => {
        if (holding) await replay.complete;
        return run(...args);
      };
    }
    return adapter;
  };
  const view: EngineAdapterFactory = { ...adapters, bound: adapters.engineOn(replay.opened, held), close: async () => {} };
  return { adapters: view, hold: () => void (holding = true) };
}
