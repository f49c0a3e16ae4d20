// Applies a migrations folder with Prisma's schema engine (WebAssembly applyMigrations), as
// `prisma migrate deploy` does: node bench/prisma-engine-apply.mjs <migrationsDir> <schemaPath>, DATABASE_URL set.
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const [migrationsDir, schemaPath] = process.argv.slice(2);
const { withEngine, NO_FILTERS } = await import(join(ROOT, 'packages/cli/dist/engine/with-engine.js'));
const { migrationsList } = await import(join(ROOT, 'packages/cli/dist/read/engine-input.js'));
const { appliedMigrationNames } = await withEngine({ databaseUrl: process.env.DATABASE_URL, shadowDatabaseUrl: undefined, schemaPath }, (engine) =>
  engine.applyMigrations({ migrationsList: migrationsList(migrationsDir), filters: NO_FILTERS }),
);
if (appliedMigrationNames.length === 0) throw new Error('the engine applied nothing');
process.exit(0);
