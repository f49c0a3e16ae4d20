/**
 * Prisma's own schema engine as the Prisma CLI runs it: the WASM engine over the stock
 * @prisma/adapter-pg (no digilog-db adapter fixes), reading the migrations folder with the
 * engine's input as Prisma's CLI builds it (each folder's migration.sql, nothing else).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { createEngineAdapterFactory } from '../../src/engine/adapter-factory.js';
import { createSchemaEngine, withSchemaEngine, type EngineOutput, type SchemaEngine } from '../../src/engine/load-schema-engine.js';
import { migrationsList } from '../../src/read/engine-input.js';

const FILTERS = { externalTables: [], externalEnums: [] };

/** Runs one call on Prisma's engine as the Prisma CLI would, through the stock adapter. */
export async function withPrismaEngine<T>(url: string, migrationsDir: string, call: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const schemaPath = join(migrationsDir, '..', 'schema.prisma');
  // Our own pool, so it can be closed: the engine leaves its advisory lock on an idle pooled
  // session (NOTES-prisma.md, defect 4), which only closing that session releases.
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const factory = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
  const engine = await createSchemaEngine(schemaPath, readFileSync(schemaPath, 'utf8'), factory);
  try {
    return await call(engine);
  } finally {
    engine.free();
    await pool.end();
  }
}

/** Prisma's engine as `prisma migrate deploy` would run it: the names it applied. */
export async function engineDeploy(url: string, migrationsDir: string): Promise<string[]> {
  const result = await withPrismaEngine(url, migrationsDir, (engine) => engine.applyMigrations({ migrationsList: migrationsList(migrationsDir), filters: FILTERS }));
  return result.appliedMigrationNames;
}

/**
 * Prisma's engine deploying a folder as the native `prisma migrate deploy` does, each script sent
 * whole: through digilog-db's adapter, because the stock one splits scripts on every `;`
 * (NOTES-prisma.md, defect 3), which histories with `;` in comments, strings or function bodies
 * do not survive. The names it applied.
 */
export async function engineDeployWhole(url: string, migrationsDir: string): Promise<string[]> {
  const schemaPath = join(migrationsDir, '..', 'schema.prisma');
  const adapters = await createEngineAdapterFactory({ connectionString: url });
  const result = await withSchemaEngine({ schemaPath, schemaText: readFileSync(schemaPath, 'utf8'), adapters }, (engine) =>
    engine.applyMigrations({ migrationsList: migrationsList(migrationsDir), filters: FILTERS }),
  );
  return result.appliedMigrationNames;
}

/** Prisma's engine as `prisma migrate status` would run it (no shadow database). */
export async function engineDiagnose(url: string, migrationsDir: string): Promise<EngineOutput<'diagnoseMigrationHistory'>> {
  return withPrismaEngine(url, migrationsDir, (engine) => engine.diagnoseMigrationHistory({ migrationsList: migrationsList(migrationsDir), optInToShadowDatabase: false, filters: FILTERS }));
}

/** The migrations Prisma's own checksum check calls edited. */
export async function engineEdited(url: string, migrationsDir: string): Promise<string[]> {
  return (await engineDiagnose(url, migrationsDir)).editedMigrationNames;
}
