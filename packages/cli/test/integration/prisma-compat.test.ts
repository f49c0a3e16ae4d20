/**
 * Compatibility with Prisma's own engine: the rows digilog-db writes in
 * `_prisma_migrations` match those the raw WASM schema engine writes for the
 * same files, and each accepts the state the other left.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/read/checksum.js';
import { checkStatus } from '../../src/status/check-status.js';
import { migrate } from '../../src/deploy/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { addMigration, PROJECT_MIGRATIONS, writeMigrations } from '../support/migrations.js';
import { scriptWithLeadingZeroNibble } from '../support/checksums.js';
import { testRunner } from '../support/runner.js';
import { engineDeploy, engineEdited } from '../support/prisma-engine.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});
async function fresh(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_compat');
  databases.push(db);
  return db;
}

type Row = { migration_name: string; checksum: string; logs: string | null; applied_steps_count: number; finished: boolean; rolled_back: boolean; id_is_uuid_v4: boolean };
async function rows(db: TestDatabase): Promise<Row[]> {
  return db.query<Row>(`SELECT migration_name, checksum, logs, applied_steps_count, finished_at IS NOT NULL AS finished,
      rolled_back_at IS NOT NULL AS rolled_back,
      id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS id_is_uuid_v4,
      finished_at >= started_at AS ordered
    FROM _prisma_migrations ORDER BY migration_name`);
}
async function tableDefinition(db: TestDatabase): Promise<unknown[]> {
  return db.query(`SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
    FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`);
}

describe('compatibility with the raw Prisma schema engine', () => {
  it('writes the same rows and the same table as applyMigrations for the project migrations', async () => {
    const ours = await fresh();
    const theirs = await fresh();
    await migrate(testRunner(ours.url, PROJECT_MIGRATIONS));
    expect(await engineDeploy(theirs.url, PROJECT_MIGRATIONS)).toEqual((await rows(ours)).map((r) => r.migration_name));
    expect(await rows(ours)).toEqual(await rows(theirs));
    expect(await tableDefinition(ours)).toEqual(await tableDefinition(theirs));
    const [first] = await rows(ours);
    const file = readFileSync(join(PROJECT_MIGRATIONS, first!.migration_name, 'migration.sql'));
    expect(first).toMatchObject({ checksum: sha256Hex(file), applied_steps_count: 1, logs: null, finished: true, id_is_uuid_v4: true });
  });

  it('each accepts the state the other left', async () => {
    const dir = writeMigrations({
      '20240101000000_a': 'CREATE TABLE a (id int PRIMARY KEY);\n',
      '20240102000000_b': 'CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id));\n',
    });
    // Prisma first, then digilog-db.
    const prismaFirst = await fresh();
    expect(await engineDeploy(prismaFirst.url, dir)).toEqual(['20240101000000_a', '20240102000000_b']);
    expect((await checkStatus(testRunner(prismaFirst.url, dir))).state).toBe('upToDate');
    addMigration(dir, '20240103000000_c', 'CREATE TABLE c (id int);\n');
    expect((await migrate(testRunner(prismaFirst.url, dir))).applied.map((a) => a.name)).toEqual(['20240103000000_c']);
    // digilog-db first, then Prisma: nothing left to apply, and a new migration applies on top.
    const oursFirst = await fresh();
    await migrate(testRunner(oursFirst.url, dir));
    expect(await engineDeploy(oursFirst.url, dir)).toEqual([]);
    addMigration(dir, '20240104000000_d', 'CREATE TABLE d (id int);\n');
    expect(await engineDeploy(oursFirst.url, dir)).toEqual(['20240104000000_d']);
    expect((await checkStatus(testRunner(oursFirst.url, dir))).state).toBe('upToDate');
    expect((await rows(prismaFirst)).slice(0, 3)).toEqual((await rows(oursFirst)).slice(0, 3));
  });

  it('checksums a non-UTF-8 file as the engine does, and each accepts the other\'s row', async () => {
    const dir = writeMigrations({});
    mkdirSync(join(dir, '20240101000000_latin1'));
    writeFileSync(join(dir, '20240101000000_latin1', 'migration.sql'), Buffer.from('-- caf\xe9\nCREATE TABLE a (id int);\n', 'latin1'));
    const ours = await fresh();
    const theirs = await fresh();
    await migrate(testRunner(ours.url, dir));
    expect(await engineDeploy(theirs.url, dir)).toEqual(['20240101000000_latin1']);
    expect(await rows(ours)).toEqual(await rows(theirs));
    expect(await engineEdited(ours.url, dir)).toEqual([]);
    expect((await checkStatus(testRunner(theirs.url, dir))).state).toBe('upToDate');
  });

  it('agrees with the engine on Prisma 2 unpadded checksums and on CRLF/LF swaps', async () => {
    const { sql, unpadded } = scriptWithLeadingZeroNibble();
    // LF file recorded as its all-CRLF form; mixed file recorded as Rust's replace('\n', "\r\n") of it (CR CR LF).
    const mixed = 'CREATE TABLE m1 (id int);\r\nCREATE TABLE m2 (id int);\n';
    const dir = writeMigrations({ '20240101000000_old': sql, '20240102000000_lf': 'CREATE TABLE l (id int);\n', '20240103000000_mixed': mixed });
    const db = await fresh();
    await migrate(testRunner(db.url, dir));
    await db.query(`UPDATE _prisma_migrations SET checksum = '${unpadded}' WHERE migration_name = '20240101000000_old'`);
    await db.query(`UPDATE _prisma_migrations SET checksum = '${sha256Hex('CREATE TABLE l (id int);\r\n')}' WHERE migration_name = '20240102000000_lf'`);
    await db.query(`UPDATE _prisma_migrations SET checksum = '${sha256Hex(mixed.replaceAll('\n', '\r\n'))}' WHERE migration_name = '20240103000000_mixed'`);
    expect(await engineEdited(db.url, dir)).toEqual([]);
    expect((await checkStatus(testRunner(db.url, dir))).state).toBe('upToDate');
    // A wrong value both call edited.
    await db.query(`UPDATE _prisma_migrations SET checksum = '${sha256Hex('x')}' WHERE migration_name = '20240102000000_lf'`);
    expect(await engineEdited(db.url, dir)).toEqual(['20240102000000_lf']);
    expect((await checkStatus(testRunner(db.url, dir))).state).toBe('edited');
  });
});
