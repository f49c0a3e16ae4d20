/**
 * Writes a new migration the way `prisma migrate dev --create-only` does:
 * the engine replays the migration history in a shadow database, diffs it
 * against the Prisma schema and returns the script; we write it to
 * `<migrationsDir>/<timestamp>_<name>/migration.sql` (the WASM engine returns
 * the script and the folder name but writes no files itself), and beside it
 * `down.sql`, the engine's diff from the history with it to the history without it.
 * Like `prisma migrate dev --create-only`, migrations already in the folder
 * but pending on the database are applied first; the new one is not. A
 * drifted database is reported, never reset.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { redact } from '../redact.js';
import { DigilogError } from '../errors.js';
import { createEngineAdapterFactory, type EngineAdapterFactory } from './adapter-factory.js';
import { withSchemaEngine } from './load-schema-engine.js';
import { downScript, writeDownFile } from './down-script.js';
import { LOCK_FILE_CONTENT, LOCK_FILE_NAME, MIGRATION_FILE, migrationsList } from '../read/engine-input.js';
import { compareNames } from '../read/migrations-folder.js';

/** Input of createMigrationFromSchema. */
export interface CreateMigrationOptions {
  /** The development database (Prisma-style URL, `?schema=` honoured): diagnosed, and brought up to the folder's migrations. */
  connectionString: string;
  schemaPath: string;
  migrationsDir: string;
  /** The user's name for the migration; the engine prefixes the timestamp and normalises it. */
  name: string;
  /** A dedicated shadow database; without it a temporary one is created and dropped. */
  shadowDatabaseUrl?: string | undefined;
  /** An adapter factory the caller already owns (e.g. to close it on Ctrl-C), keeping its shadow databases (down.sql reads the enum order there); else one is created. */
  adapters?: EngineAdapterFactory;
}

/** A migration written to disk. */
export interface CreatedMigration {
  /** Folder name, `<YYYYMMDDHHMMSS>_<name>`. */
  name: string;
  /** Absolute path of the written migration.sql. */
  path: string;
  sql: string;
  /** Absolute path of the down.sql written beside it (the SQL that undoes it, for review and `rollback`). */
  downPath: string | null;
  /** Why no down.sql was written (the engine could not replay the history with the new migration in its place). */
  downProblem?: string;
}

/** What createMigrationFromSchema did. */
export interface CreateMigrationResult {
  /** The new migration, or null when the schema has no change against the history. */
  migration: CreatedMigration | null;
  /** Migrations of the folder that were pending on the database and got applied first. */
  appliedPending: string[];
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Migration folders in the engine's (byte) order. */
function sortedByPath<T extends { path: string }>(directories: T[]): T[] {
  return [...directories].sort((a, b) => compareNames(a.path, b.path));
}

/** Prisma's limit on migration names (P3010). */
const MAX_NAME_BYTES = 200;

/**
 * Applies pending migrations, diffs the migration history against the schema
 * and writes the new migration (plus migration_lock.toml when missing),
 * without applying it. `migration` is null when the schema has no change;
 * throws `history-mismatch` when the database has drifted from the history
 * (never resets), and `usage` for an unusable name.
 */
export async function createMigrationFromSchema(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  if (!options.name.trim() || Buffer.byteLength(options.name) > MAX_NAME_BYTES) {
    throw new DigilogError('usage', `Invalid migration name "${options.name}"`, {
      prismaCode: 'P3010',
      hint: `Pass a non-empty name of at most ${MAX_NAME_BYTES} bytes, e.g. --name add_settings.`,
    });
  }
  const migrationsDir = resolve(options.migrationsDir);
  const schemaText = readFileSync(options.schemaPath, 'utf8');
  const adapters = options.adapters ?? (await createEngineAdapterFactory({ connectionString: options.connectionString, shadowDatabaseUrl: options.shadowDatabaseUrl, keepShadows: true }));

  const { created, down, appliedPending } = await withSchemaEngine({ schemaPath: options.schemaPath, schemaText, adapters }, async (engine) => {
    const input = migrationsList(migrationsDir);
    const diagnose = async () => {
      const diagnostic = await engine.devDiagnostic({ migrationsList: input, filters: NO_FILTERS });
      if (diagnostic.action.tag === 'reset') {
        throw new DigilogError('history-mismatch', `The database does not match the migration history: ${diagnostic.action.reason}`, {
          hint: 'Bring the database back in line with the migrations (in development: `digilog-db reset`), then create the migration again.',
          details: { reason: diagnostic.action.reason },
        });
      }
    };
    await diagnose();
    // The WASM engine's createMigration cannot open a shadow database itself: it only reads the
    // schema that devDiagnostic replayed in the shadow, cached per engine and keyed by the
    // migrations APPLIED to this database. So pending ones are applied first (as
    // `prisma migrate dev` does), and the history diagnosed again to cache the full list.
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: input, filters: NO_FILTERS });
    if (appliedMigrationNames.length > 0) await diagnose();
    const output = await engine.createMigration({
      draft: false,
      migrationName: options.name,
      migrationsList: input,
      schema: { files: [{ path: options.schemaPath, content: schemaText }] },
      filters: NO_FILTERS,
    });
    if (output.migrationScript === null) return { created: output, down: '', appliedPending: appliedMigrationNames };
    // Its down script, from the history with it to the history without it, on this same engine.
    const next = { path: output.generatedMigrationName, migrationFile: { path: MIGRATION_FILE, content: { tag: 'ok' as const, value: output.migrationScript } } };
    // The first migration's folder has no migration_lock.toml yet (written below); the diff needs it to know the provider.
    const before = { ...input, lockfile: { path: LOCK_FILE_NAME, content: input.lockfile.content ?? LOCK_FILE_CONTENT } };
    const withNew = { ...before, migrationDirectories: sortedByPath([...input.migrationDirectories, next]) };
    // down.sql is for review and rollback: a history the engine cannot replay with the new migration in its
    // place (a later-dated folder already applied sorts after it) must not cost the migration itself.
    const down = await downScript(engine, adapters, withNew, before).catch((error: unknown) => ({ problem: redact(String((error as Error)?.message ?? error)).split('\n')[0]! }));
    return { created: output, down, appliedPending: appliedMigrationNames };
  });
  if (created.migrationScript === null) return { migration: null, appliedPending };

  const folder = join(migrationsDir, created.generatedMigrationName);
  if (existsSync(folder)) {
    // Same name within the same second: never overwrite a migration that may already be applied somewhere.
    throw new DigilogError('usage', `Migration folder ${created.generatedMigrationName} already exists`, { hint: 'Wait a second and run again, or choose another name.' });
  }
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `migration.${created.extension}`);
  writeFileSync(path, created.migrationScript);
  const downPath = typeof down === 'string' ? writeDownFile(migrationsDir, created.generatedMigrationName, down) : null;
  const lockPath = join(migrationsDir, LOCK_FILE_NAME);
  if (!existsSync(lockPath)) writeFileSync(lockPath, LOCK_FILE_CONTENT);
  return { migration: { name: created.generatedMigrationName, path, sql: created.migrationScript, downPath, ...(typeof down === 'string' ? {} : { downProblem: down.problem }) }, appliedPending };
}
