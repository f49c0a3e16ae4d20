/**
 * The schema engine's `migrationsList` input, built from the one folder read
 * (migrations-folder.ts): the same entries, order and lock file the runner
 * sees. A folder whose script cannot be read is passed on as an error entry,
 * so the engine reports it exactly as Prisma would (P3015).
 */
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { isReadable, LOCK_FILE_NAME, MIGRATION_FILE, readMigrationsFolder, type MigrationsFolder } from './migrations-folder.js';

export { LOCK_FILE_CONTENT, LOCK_FILE_NAME, MIGRATION_FILE } from './migrations-folder.js';

/** The engine's view of a folder already read. Pure. */
export function engineInput(folder: MigrationsFolder, shadowDbInitScript = ''): MigrationList {
  return {
    baseDir: folder.dir,
    lockfile: { path: LOCK_FILE_NAME, content: folder.lockFile },
    shadowDbInitScript,
    migrationDirectories: folder.entries.map((entry) => ({
      path: entry.name,
      migrationFile: { path: MIGRATION_FILE, content: isReadable(entry) ? { tag: 'ok' as const, value: entry.sql } : { tag: 'error' as const, value: entry.error } },
    })),
  };
}

/** Every migration of the folder as the engine expects them; a missing folder is an empty history (the first `dev` run). */
export function migrationsList(migrationsDir: string, shadowDbInitScript = ''): MigrationList {
  return engineInput(readMigrationsFolder(migrationsDir), shadowDbInitScript);
}
