/**
 * Prisma's WASM schema engine through digilog-db's adapter factory: the four
 * defects of the stock adapter path (NOTES-prisma.md) are gone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createMigrationAdapterFactory } from '../src/engine/adapter-factory.js';
import { createSchemaEngine } from '../src/engine/load-schema-engine.js';
import { migrationsList } from '../src/engine/migrations-input.js';
import { migrate } from '../src/operations/migrate.js';
import { adminQuery, createTestDatabase, type TestDatabase } from './support/database.js';
import { PROJECT_MIGRATIONS, REPO_ROOT, writeMigrations } from './support/migrations.js';
import { testRunner } from './support/runner.js';

const NO_FILTER = { externalTables: [], externalEnums: [] };
const SCHEMA_PATH = join(REPO_ROOT, 'prisma', 'schema.prisma');
const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});
async function fresh(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_engine');
  databases.push(db);
  return db;
}
async function shadowDatabases(): Promise<string[]> {
  return (await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'digilog_shadow_${process.pid}_%'`)).map((r) => r.datname);
}

async function withEngine<T>(url: string, schemaText: string, fn: (engine: Awaited<ReturnType<typeof createSchemaEngine>>) => Promise<T>): Promise<T> {
  const adapters = createMigrationAdapterFactory({ databaseUrl: url });
  const engine = await createSchemaEngine(SCHEMA_PATH, schemaText, adapters.factory);
  try {
    return await fn(engine);
  } finally {
    engine.free();
    await adapters.dispose();
  }
}

describe('schema engine with the migration-aware adapter factory', () => {
  it('diffs the migration history (through a shadow database) against the schema: no change, and no shadow left', async () => {
    const db = await fresh();
    const schema = readFileSync(SCHEMA_PATH, 'utf8');
    const result = await withEngine(db.url, schema, (engine) =>
      engine.diff({ from: { tag: 'migrations', ...migrationsList(PROJECT_MIGRATIONS) }, to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] }, script: true, exitCode: true, filters: NO_FILTER }),
    );
    expect(result.exitCode).toBe(0);
    expect(await shadowDatabases()).toEqual([]);
  });

  it('a schema change diffs to the expected SQL; the "char" catalogue columns are read without error', async () => {
    const db = await fresh();
    const schema = readFileSync(SCHEMA_PATH, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?');
    const result = await withEngine(db.url, schema, (engine) =>
      engine.diff({ from: { tag: 'migrations', ...migrationsList(PROJECT_MIGRATIONS) }, to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: schema }] }, script: true, exitCode: true, filters: NO_FILTER }),
    );
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('ALTER TABLE "settings" ADD COLUMN     "owner" TEXT;');
    expect(await shadowDatabases()).toEqual([]);
  });

  it('devDiagnostic on a database migrated by digilog-db wants a new migration, not a reset', async () => {
    const db = await fresh();
    await migrate(testRunner(db.url, PROJECT_MIGRATIONS));
    const schema = readFileSync(SCHEMA_PATH, 'utf8');
    const diagnostic = await withEngine(db.url, schema, (engine) => engine.devDiagnostic({ migrationsList: migrationsList(PROJECT_MIGRATIONS), filters: NO_FILTER }));
    expect(diagnostic.action.tag).toBe('createMigration');
    expect(await shadowDatabases()).toEqual([]);
  });

  it('the stock adapter fails on the same call (its "shadow" is the main database: defect 2), so the test above proves the fix', async () => {
    const db = await fresh();
    await migrate(testRunner(db.url, PROJECT_MIGRATIONS));
    const schema = readFileSync(SCHEMA_PATH, 'utf8');
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const engine = await createSchemaEngine(SCHEMA_PATH, schema, bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool)));
    try {
      const error = await engine.devDiagnostic({ migrationsList: migrationsList(PROJECT_MIGRATIONS), filters: NO_FILTER }).then(
        () => null,
        (e: Error) => e,
      );
      expect(String(error?.message)).toMatch(/already exists|could not be deserialized/);
    } finally {
      engine.free();
      await pool.end();
    }
  });

  it('applyMigrations keeps DO blocks and literals whole and applies a failing file atomically', async () => {
    const db = await fresh();
    const dir = writeMigrations({
      '20240101000000_edge': "CREATE TABLE a (v text);\nDO $$ BEGIN RAISE NOTICE $q$x;y$q$; END $$;\nINSERT INTO a VALUES (';'), ('it''s; ok');\n",
      '20240102000000_broken': 'CREATE TABLE b (id int);\nCREATE TABLE c (id int);\nSELECT 1/0;\n',
    });
    const schema = readFileSync(join(dir, '..', 'schema.prisma'), 'utf8');
    const error = await withEngine(db.url, schema, (engine) => engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTER })).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toContain('division by zero');
    expect(await db.query('SELECT v FROM a ORDER BY v')).toEqual([{ v: ';' }, { v: "it's; ok" }]);
    expect(await db.query(`SELECT to_regclass('b') AS b, to_regclass('c') AS c`)).toEqual([{ b: null, c: null }]);
    // The engine's lock lived on the adapter's one session, which is closed now.
    expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`)).toEqual([]);
  });
});
