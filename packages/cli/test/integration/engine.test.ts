/**
 * Prisma's WASM schema engine on digilog-db's adapter factory, against real
 * PostgreSQL: the four defects of the stock adapter path (NOTES-prisma.md)
 * are gone, and the engine writes Prisma's own bookkeeping.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/read/checksum.js';
import { createEngineAdapterFactory, SHADOW_HOST_TAG, type EngineAdapterFactory } from '../../src/engine/adapter-factory.js';
import { createMigrationFromSchema } from '../../src/engine/create-migration.js';
import { callEngine, createSchemaEngine, loadSchemaEngineModule, type SchemaEngine } from '../../src/engine/load-schema-engine.js';
import { LOCK_FILE_CONTENT, migrationsList } from '../../src/read/engine-input.js';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/database.js';
import { REPO_ROOT, writeMigrations } from '../support/migrations.js';

const NO_FILTERS = { externalTables: [], externalEnums: [] };
const BARE_SCHEMA = 'datasource db {\n  provider = "postgresql"\n}\n';
const LOCK_KEY = 72707369;
const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});
async function fresh(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_test_engine');
  databases.push(db);
  return db;
}
/** Shadow databases of this test process (other test files may create their own meanwhile). */
async function shadowCount(): Promise<number> {
  const rows = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'digilog\\_shadow\\_${SHADOW_HOST_TAG}\\_${process.pid}\\_%'`);
  return rows[0]!.n;
}
/** The raw engine on our adapter factory; freed and closed afterwards, as callers must. */
async function withEngine<T>(url: string, fn: (engine: SchemaEngine, adapters: EngineAdapterFactory) => Promise<T>, schemaText = BARE_SCHEMA): Promise<T> {
  const adapters = await createEngineAdapterFactory({ connectionString: url });
  const engine = await createSchemaEngine('schema.prisma', schemaText, adapters.bound);
  try {
    return await fn(engine, adapters);
  } finally {
    engine.free();
    await adapters.close();
  }
}
const failureOf = (promise: Promise<unknown>) => promise.then(() => null, (error: Error) => error);

describe('executeScript: one simple query per migration (defect 3)', () => {
  const EDGE_CASES = [
    '-- a comment; with a semicolon',
    'CREATE TABLE edge (v text);',
    '/* a block comment; with ; too */',
    'DO $$ BEGIN RAISE NOTICE $q$x;y$q$; INSERT INTO edge VALUES ($q$x;y$q$); END $$;',
    'CREATE FUNCTION edge_count() RETURNS bigint LANGUAGE plpgsql AS $fn$',
    'DECLARE n bigint;',
    'BEGIN',
    '  SELECT count(*) INTO n FROM edge;',
    '  RETURN n;',
    'END;',
    '$fn$;',
    "INSERT INTO edge VALUES (';'), ('it''s; fine');",
    '',
  ].join('\n');

  it('applies DO blocks, function bodies, literals and comments containing ";" intact, and writes Prisma\'s rows', async () => {
    const db = await fresh();
    const dir = writeMigrations({ '20240101000000_edge': EDGE_CASES });
    const applied = await withEngine(db.url, (engine) => engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS }));
    expect(applied.appliedMigrationNames).toEqual(['20240101000000_edge']);
    expect(await db.query('SELECT v FROM edge ORDER BY v COLLATE "C"')).toEqual([{ v: ';' }, { v: "it's; fine" }, { v: 'x;y' }]);
    expect(await db.query('SELECT edge_count()::int AS n')).toEqual([{ n: 3 }]);
    const [fn] = await db.query<{ prosrc: string }>(`SELECT prosrc FROM pg_proc WHERE proname = 'edge_count'`);
    expect(fn!.prosrc).toContain('SELECT count(*) INTO n FROM edge;\n  RETURN n;\nEND;');
    // (e) The engine's bookkeeping: checksum of the file's bytes, one step.
    const file = readFileSync(join(dir, '20240101000000_edge', 'migration.sql'));
    expect(await db.query('SELECT migration_name, checksum, applied_steps_count, finished_at IS NOT NULL AS finished, logs FROM _prisma_migrations')).toEqual([
      { migration_name: '20240101000000_edge', checksum: sha256Hex(file), applied_steps_count: 1, finished: true, logs: null },
    ]);
  });

  it('a script failing at its 3rd statement leaves nothing of it applied (the stock adapter leaves the first two)', async () => {
    const script = 'CREATE TABLE b1 (id int);\nCREATE TABLE b2 (id int);\nINSERT INTO nope VALUES (1);\nCREATE TABLE b4 (id int);\n';
    const dir = writeMigrations({ '20240101000000_ok': 'CREATE TABLE a (id int);\n', '20240102000000_broken': script });
    const ours = await fresh();
    const error = await failureOf(withEngine(ours.url, (engine) => engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS })));
    // adapter-pg maps SQLSTATE 42P01 to its own wording.
    expect(error?.message).toContain('No such table: nope');
    const tables = `SELECT to_regclass('a') IS NOT NULL AS a, to_regclass('b1') IS NOT NULL AS b1, to_regclass('b2') IS NOT NULL AS b2`;
    expect(await ours.query(tables)).toEqual([{ a: true, b1: false, b2: false }]);
    expect(await ours.query(`SELECT migration_name, finished_at IS NULL AS failed, applied_steps_count FROM _prisma_migrations ORDER BY 1`)).toEqual([
      { migration_name: '20240101000000_ok', failed: false, applied_steps_count: 1 },
      { migration_name: '20240102000000_broken', failed: true, applied_steps_count: 0 },
    ]);

    const stock = await fresh();
    const pool = new pg.Pool({ connectionString: stock.url });
    const engine = await createSchemaEngine('schema.prisma', BARE_SCHEMA, bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool)));
    await failureOf(engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS }));
    engine.free();
    await pool.end();
    expect(await stock.query(tables)).toEqual([{ a: true, b1: true, b2: true }]);
  });

  it('honours ?schema= (search_path and the adapter schema), also for a name with a space', async () => {
    const db = await fresh();
    const dir = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n' });
    await withEngine(`${db.url}?schema=tenant%20one`, (engine) => engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS }));
    expect(await db.query(`SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 2`)).toEqual([
      { table_schema: 'tenant one', table_name: '_prisma_migrations' },
      { table_schema: 'tenant one', table_name: 'a' },
    ]);
  });
});

describe('advisory lock and migration share one session (defect 4)', () => {
  it('the migration runs on the backend that holds the lock; closing the factory releases it', async () => {
    const db = await fresh();
    const probe = `CREATE TABLE probe AS SELECT pg_backend_pid() AS pid,
      EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = ${LOCK_KEY} AND pid = pg_backend_pid()) AS held;\n`;
    const dir = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n', '20240102000000_probe': probe });
    await withEngine(db.url, async (engine) => {
      await engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS });
      const [work] = await db.query<{ pid: number; held: boolean }>('SELECT pid, held FROM probe');
      expect(work!.held).toBe(true);
      // The engine never unlocks: the lock stays with the same session until the factory closes it.
      expect(await db.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${LOCK_KEY} AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([{ pid: work!.pid }]);
      // A failing script next: pg's Pool#query would destroy the session on the error, and the lock with it.
      const failing = writeMigrations({ '20240103000000_bad': 'SELECT 1/0;\n' });
      await failureOf(engine.applyMigrations({ migrationsList: migrationsList(failing), filters: NO_FILTERS }));
      expect(await db.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${LOCK_KEY} AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([{ pid: work!.pid }]);
    });
    expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([]);
  });

  it('when the lock is held elsewhere the engine gives up after 10 s and close() ends its waiting session', async () => {
    const db = await fresh();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    try {
      const dir = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n' });
      const error = await failureOf(withEngine(db.url, (engine) => engine.applyMigrations({ migrationsList: migrationsList(dir), filters: NO_FILTERS })));
      expect(error?.message).toContain('Timed out trying to acquire a postgres advisory lock');
      expect(await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'digilog-db schema engine'`)).toEqual([]);
    } finally {
      await holder.end();
    }
    expect(await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).toEqual([]);
  }, 30_000);
});

describe('shadow database and "char" columns (defects 1 and 2)', () => {
  it('the schema describer reads "char" catalogue columns (introspect fails on the stock adapter)', async () => {
    const db = await fresh();
    await db.query(`CREATE TABLE t (id int PRIMARY KEY, c text NOT NULL CHECK (c <> ''))`);
    const input = { schema: { files: [{ path: 'schema.prisma', content: BARE_SCHEMA }] }, baseDirectoryPath: tmpdir(), force: false, compositeTypeDepth: -1, namespaces: null };
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    const stock = await createSchemaEngine('schema.prisma', BARE_SCHEMA, bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool)));
    const error = await failureOf(callEngine(stock, 'introspect', input));
    stock.free();
    await pool.end();
    expect(error?.message).toContain("Column type 'char' could not be deserialized");
    const result = await withEngine(db.url, (engine) => callEngine(engine, 'introspect', input));
    expect(result.schema.files[0]!.content).toMatch(/model t \{\n {2}id Int +@id/);
  });

  it('createMigrationFromSchema writes the initial migration, then nothing, then a diff; no shadow database is left', async () => {
    const before = await shadowCount();
    const db = await fresh();
    const root = mkdtempSync(join(tmpdir(), 'digilog-engine-'));
    const migrationsDir = join(root, 'migrations');
    const schemaPath = join(root, 'schema.prisma');
    const schema = readFileSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8');
    writeFileSync(schemaPath, schema);
    const options = { connectionString: db.url, schemaPath, migrationsDir, name: 'init' };

    const first = await createMigrationFromSchema(options);
    expect(first.migration?.name).toMatch(/^\d{14}_init$/);
    expect(first.migration?.sql).toContain('CREATE TABLE "settings"');
    expect(first.migration?.sql).toContain('CREATE TYPE "SettingScope" AS ENUM');
    expect(readFileSync(first.migration!.path, 'utf8')).toBe(first.migration!.sql);
    expect(readFileSync(join(migrationsDir, 'migration_lock.toml'), 'utf8')).toBe(LOCK_FILE_CONTENT);
    expect(await db.query(`SELECT to_regclass('settings') AS t`)).toEqual([{ t: null }]);

    // Unchanged schema: the pending init is applied (the engine needs that), and no migration is written.
    expect(await createMigrationFromSchema({ ...options, name: 'again' })).toEqual({ migration: null, appliedPending: [first.migration!.name] });

    writeFileSync(schemaPath, schema.replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?'));
    const second = await createMigrationFromSchema({ ...options, name: 'add_owner' });
    expect(second.migration?.name).toMatch(/^\d{14}_add_owner$/);
    expect(second.migration?.sql).toContain('ALTER TABLE "settings" ADD COLUMN     "owner" TEXT;');
    expect(await shadowCount()).toBe(before);
  });

  it('leaves no shadow database behind when the engine call fails', async () => {
    const before = await shadowCount();
    const db = await fresh();
    const dir = writeMigrations({ '20240101000000_broken': 'CREATE TABLE a (id int);\nCREATE TABLE a (id int);\n' });
    const error = await failureOf(
      createMigrationFromSchema({ connectionString: db.url, schemaPath: join(dir, '..', 'schema.prisma'), migrationsDir: dir, name: 'next' }),
    );
    expect(error?.message).toContain('already exists');
    expect(await shadowCount()).toBe(before);
    // A shadow the engine never disposed (it threw first) is dropped by close().
    await withEngine(db.url, async (_engine, adapters) => {
      const shadow = await adapters.bound.connectToShadowDb();
      expect(shadow.ok).toBe(true);
      expect(adapters.liveShadowDatabases()).toHaveLength(1);
      expect(await shadowCount()).toBe(before + 1);
    });
    expect(await shadowCount()).toBe(before);
  });

  it('uses an explicit shadow database URL instead, emptied before use', async () => {
    const before = await shadowCount();
    const db = await fresh();
    const shadow = await fresh();
    await shadow.query('CREATE TABLE leftover (id int)');
    const dir = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n' });
    const schemaPath = join(dir, '..', 'schema.prisma');
    writeFileSync(schemaPath, `${BARE_SCHEMA}\nmodel a {\n  id Int @id\n}\n`);
    const result = await createMigrationFromSchema({ connectionString: db.url, schemaPath, migrationsDir: dir, name: 'pk', shadowDatabaseUrl: shadow.url });
    expect(result.migration?.sql).toContain('ADD CONSTRAINT "a_pkey" PRIMARY KEY ("id")');
    expect(await shadow.query(`SELECT to_regclass('leftover') AS t`)).toEqual([{ t: null }]);
    expect(await shadowCount()).toBe(before);
  });
});

describe('migrationsList', () => {
  it('lists sub-folders in byte order, skips files, reads the lock file and passes unreadable scripts as errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'digilog-list-'));
    for (const name of ['b_second', 'B_upper', '20240101000000_first', 'no_script']) mkdirSync(join(dir, name));
    for (const name of ['b_second', 'B_upper', '20240101000000_first']) writeFileSync(join(dir, name, 'migration.sql'), `-- ${name}\n`);
    writeFileSync(join(dir, 'migration_lock.toml'), LOCK_FILE_CONTENT);
    writeFileSync(join(dir, 'README.md'), 'not a migration');
    const list = migrationsList(dir);
    expect(list.baseDir).toBe(dir);
    expect(list.lockfile).toEqual({ path: 'migration_lock.toml', content: LOCK_FILE_CONTENT });
    expect(list.migrationDirectories.map((m) => m.path)).toEqual(['20240101000000_first', 'B_upper', 'b_second', 'no_script']);
    expect(list.migrationDirectories[0]!.migrationFile).toEqual({ path: 'migration.sql', content: { tag: 'ok', value: '-- 20240101000000_first\n' } });
    expect(list.migrationDirectories[3]!.migrationFile.content.tag).toBe('error');
    expect(migrationsList(join(dir, 'missing')).migrationDirectories).toEqual([]);
  });
});

describe('loading the engine', () => {
  const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src/engine');
  /** Runs an ESM snippet in a fresh Node process (own engine module); returns its stdout and run time. */
  function runChild(body: string): { out: string; ms: number } {
    const script = join(mkdtempSync(join(tmpdir(), 'digilog-child-')), 'child.mts');
    const header = `import { createEngineAdapterFactory } from ${JSON.stringify(join(SRC, 'adapter-factory.ts'))};
import { callEngine, createSchemaEngine, withPanic, withSchemaEngine } from ${JSON.stringify(join(SRC, 'load-schema-engine.ts'))};\n`;
    writeFileSync(script, header + body);
    const started = performance.now();
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: SRC, encoding: 'utf8' });
    return { out, ms: performance.now() - started };
  }

  it('compiles the module once per process', () => {
    expect(loadSchemaEngineModule()).toBe(loadSchemaEngineModule());
  });

  it('lets the process exit right after a command (the engine arms a 60 s timer in schemaPush and never clears it)', async () => {
    const db = await fresh();
    const { out, ms } = runChild(`const adapters = await createEngineAdapterFactory({ connectionString: ${JSON.stringify(db.url)} });
const files = [{ path: 'schema.prisma', content: ${JSON.stringify(`${BARE_SCHEMA}model a {\n  id Int @id\n}\n`)} }];
const result = await withSchemaEngine({ schemaPath: 'schema.prisma', schemaText: files[0].content, adapters }, (engine) =>
  engine.schemaPush({ schema: { files }, force: false, filters: { externalTables: [], externalEnums: [] } }));
console.log(result.executedSteps);
`);
    expect(out.trim()).toBe('1');
    expect(ms).toBeLessThan(15_000);
  }, 30_000);

  it('turns a panic into a readable error and refuses further use (in a child process: a panic poisons the module)', async () => {
    const db = await fresh();
    const { out } = runChild(`const adapters = await createEngineAdapterFactory({ connectionString: ${JSON.stringify(db.url)} });
const engine = await createSchemaEngine('schema.prisma', ${JSON.stringify(BARE_SCHEMA)}, adapters.bound);
let first, second;
try { engine.debugPanic(); } catch (error) { first = withPanic(error).message; }
try { await callEngine(engine, 'reset', { filter: { externalTables: [], externalEnums: [] } }); } catch (error) { second = error.message; }
await adapters.close();
console.log(JSON.stringify({ first, second }));
`);
    const { first, second } = JSON.parse(out) as { first: string; second: string };
    expect(first).toContain('schema engine panic: panicked at');
    expect(first).toContain('This is the debugPanic artificial panic');
    expect(second).toContain('panicked earlier in this process and cannot be used again');
  });
});
