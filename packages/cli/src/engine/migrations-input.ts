/** The schema engine's `migrationsList` input, built from the migrations folder digilog-db reads. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import { readMigrations } from '../project.js';

/** Every migration of the folder, in Prisma's order, as the engine expects them. */
export function migrationsList(migrationsDir: string): MigrationList {
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: readMigrations(migrationsDir).map((m) => ({
      path: m.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: m.sql } },
    })),
  };
}
