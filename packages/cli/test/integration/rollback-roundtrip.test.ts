/**
 * Rollback round trips on whole histories, against the real PostgreSQL: every migration of the
 * repository's fixture histories, and the last 20 of each real history (../shared/workloads), as
 * target X:
 *  1. apply up to X and pg_dump the schema; 2. apply the rest;
 *  3. `rollback --to X` → the schema dump (without _prisma_migrations) equals the one at X;
 *  4. a new migration after that applies; 5. status is clean, and schema.prisma (set back by the
 *     rollback) matches the database; 6. Prisma's own engine accepts the resulting history: it
 *     diagnoses it in sync (stock adapter), and its `migrate deploy` of it on an empty database
 *     gives the same schema.
 * A round trip that cannot be exact says why: a column that the rollback adds back comes last in
 * its table (ALTER TABLE ADD COLUMN cannot place it), or the rollback cannot apply because rows
 * hold what the target schema cannot (data); anything else fails the test.
 */
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DigilogError } from '../../src/errors.js';
import { checkStatus } from '../../src/status/check-status.js';
import { diff } from '../../src/develop/diff.js';
import { downSql } from '../../src/develop/down-sql.js';
import { migrate } from '../../src/deploy/migrate.js';
import { pull } from '../../src/engine/introspect.js';
import { rollback, type RollbackResult } from '../../src/develop/rollback.js';
import { adminQuery, testDatabases, urlFor, type TestDatabase } from '../support/database.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, WORKLOADS, addMigration, workloadsDir } from '../support/migrations.js';
import { engineDeployWhole, engineDiagnose } from '../support/prisma-engine.js';
import { migrationFolders, schemaDump } from '../support/psql.js';
import { testRunner } from '../support/runner.js';

const newDatabase = testDatabases();

/** The schema the projects start from: a generator with the preview feature introspection needs for partial indexes. */
const BASE_SCHEMA = 'generator client {\n  provider        = "prisma-client"\n  output          = "../generated"\n  previewFeatures = ["partialIndexes"]\n}\n\ndatasource db {\n  provider = "postgresql"\n}\n';

type Outcome = 'exact' | 'column order' | 'data';

/** Column lines of CREATE TABLE blocks sorted (without their commas): two dumps equal so differ only in column order. */
function withoutColumnOrder(dump: string): string {
  return dump.replace(/(CREATE TABLE [^\n]+ \(\n)([\s\S]*?)(\n\);)/g, (_, head: string, body: string, tail: string) => `${head}${body.split('\n').map((l) => l.replace(/,$/, '')).sort().join('\n')}${tail}`);
}

interface History {
  name: string;
  source: string;
  targets: string[];
}

/** A project folder: the history's migrations, schema.prisma, and (committed) down.sql files copied from `from`. */
function project(source: string, schema: string): { root: string; dir: string; schemaPath: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-rollback-rt-'));
  const dir = join(root, 'prisma', 'migrations');
  cpSync(source, dir, { recursive: true });
  const schemaPath = join(root, 'prisma', 'schema.prisma');
  writeFileSync(schemaPath, schema);
  return { root, dir, schemaPath };
}

/** Runs the round trip for each target of a history; returns each target's outcome. */
async function roundTrips({ name, source, targets }: History, { committed = false } = {}): Promise<Map<string, Outcome>> {
  const base = await newDatabase('digilog_rt_base');
  const setup = project(source, BASE_SCHEMA);
  const dumps = new Map<string, string>();
  for (const target of targets) {
    await migrate({ ...testRunner(base.url, setup.dir), to: target });
    dumps.set(target, schemaDump(base.url));
  }
  await migrate(testRunner(base.url, setup.dir));
  // schema.prisma matching the history, as a project has it (the rollback checks it and sets it back).
  const schema = (await pull({ databaseUrl: base.url, shadowDatabaseUrl: undefined, schemaPath: setup.schemaPath })).schema;
  writeFileSync(setup.schemaPath, schema);
  if (committed) for (const migration of migrationFolders(setup.dir)) await downSql({ databaseUrl: base.url, shadowDatabaseUrl: undefined, migrationsDir: setup.dir, schemaPath: setup.schemaPath, migration });
  const outcomes = new Map<string, Outcome>();
  let deployed = false;
  for (const target of targets) {
    const db = await cloneOf(base);
    const { dir, schemaPath } = project(setup.dir, schema);
    let result: RollbackResult;
    try {
      result = await rollback({ ...testRunner(db.url, dir), selector: { to: target }, createOnly: false, shadowDatabaseUrl: undefined });
    } catch (error) {
      // Data the target schema cannot hold (an enum value removed while rows use it, …): SQLSTATE class 22 or 23.
      expect(error, `${name}: rollback --to ${target}`).toBeInstanceOf(DigilogError);
      expect(String((error as DigilogError).details.sqlState), `${name}: rollback --to ${target}: ${(error as Error).message}`).toMatch(/^2[23]/);
      outcomes.set(target, 'data');
      continue;
    }
    if (committed && result.action !== 'nothing-to-undo') expect(result.sources?.every((s) => s.downSql === 'committed')).toBe(true);
    const after = schemaDump(db.url);
    const expected = dumps.get(target)!;
    if (after !== expected) expect(withoutColumnOrder(after), `${name}: rollback --to ${target}`).toBe(withoutColumnOrder(expected));
    outcomes.set(target, after === expected ? 'exact' : 'column order');
    // schema.prisma, set back by the rollback, is the database's: the next `dev` re-adds nothing.
    const drift = await diff({ databaseUrl: db.url, shadowDatabaseUrl: undefined, schemaPath, migrationsDir: dir, from: 'database' });
    expect(drift.changed, `${name}: schema.prisma after rollback --to ${target}: ${drift.sql}`).toBe(false);
    // 4. A new migration after the rollback applies; 5. status is clean.
    const next = `${BigInt(migrationFolders(dir).at(-1)!.slice(0, 14)) + 1n}_after_rollback`;
    addMigration(dir, next, 'CREATE TABLE "AfterRollback" ("id" INTEGER PRIMARY KEY);');
    expect((await migrate(testRunner(db.url, dir))).applied.map((a) => a.name)).toEqual([next]);
    expect((await checkStatus(testRunner(db.url, dir))).state).toBe('upToDate');
    // 6. Prisma's engine reads the history as in sync, and deploys it from scratch to the same schema.
    const diagnosis = await engineDiagnose(db.url, dir);
    expect({ failed: diagnosis.failedMigrationNames, edited: diagnosis.editedMigrationNames, history: diagnosis.history }).toEqual({ failed: [], edited: [], history: null });
    if (!deployed && result.action !== 'nothing-to-undo') {
      deployed = true;
      const fresh = await newDatabase('digilog_rt_prisma');
      expect(await engineDeployWhole(fresh.url, dir)).toEqual(migrationFolders(dir));
      expect(schemaDump(fresh.url)).toBe(schemaDump(db.url));
    }
    await db.drop();
  }
  console.log(`${name}${committed ? ' (committed down.sql)' : ''}: ${summary(outcomes)}`);
  return outcomes;
}

/** A copy of a database at the same state (CREATE DATABASE … TEMPLATE; nothing may be connected to it). */
async function cloneOf(base: TestDatabase): Promise<TestDatabase> {
  const clone = await newDatabase('digilog_rt', { create: false });
  for (let attempt = 0; ; attempt++) {
    // An autovacuum worker on the template makes CREATE DATABASE wait, then fail (55006): try again.
    const failed = await adminQuery(`CREATE DATABASE "${clone.name}" TEMPLATE "${base.name}"`).then(() => null, (error: { code?: string }) => error);
    if (!failed) break;
    if (failed.code !== '55006' || attempt === 5) throw failed;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { ...clone, url: urlFor(clone.name) };
}

function summary(outcomes: Map<string, Outcome>): string {
  const by = (o: Outcome) => [...outcomes].filter(([, v]) => v === o).map(([k]) => k);
  return `${by('exact').length} exact, ${by('column order').length} column order only${by('column order').length ? ` (${by('column order').join(', ')})` : ''}, ${by('data').length} refused by data${by('data').length ? ` (${by('data').join(', ')})` : ''}`;
}

const fixture = (name: string): History => ({ name, source: join(HISTORIES_DIR, name), targets: migrationFolders(join(HISTORIES_DIR, name)) });

/** Where a fixture history's round trips are not exact, and why (the report of docs/rollback.md). */
const FIXTURE_EXCEPTIONS: Record<string, Record<string, Outcome>> = {
  'enum-evolution': { '20240201100000_init': 'data' },
  'renames-drops-and-backfills': {
    '20240401070000_init': 'column order',
    '20240402070000_order_index_backfill': 'column order',
    '20240403070000_verified_at': 'column order',
    '20240404070000_rename_conversation_to_chat': 'column order',
    '20240405070000_timestamps_with_time_zone': 'column order',
  },
};

describe('rollback round trips on the fixture histories (every migration as target)', () => {
  it.each(FIXTURE_HISTORIES)('%s', { timeout: 300_000 }, async (name) => {
    const outcomes = await roundTrips(fixture(name));
    const exceptions = FIXTURE_EXCEPTIONS[name] ?? {};
    expect(Object.fromEntries([...outcomes].filter(([, o]) => o !== 'exact'))).toEqual(exceptions);
  });

  it.each(FIXTURE_HISTORIES)('%s, from committed down.sql files', { timeout: 300_000 }, async (name) => {
    const outcomes = await roundTrips(fixture(name), { committed: true });
    expect(Object.fromEntries([...outcomes].filter(([, o]) => o !== 'exact'))).toEqual(FIXTURE_EXCEPTIONS[name] ?? {});
  });
});

describe('rollback round trips on the real histories (../shared/workloads, the last 20 migrations as targets)', () => {
  it.for(WORKLOADS)('%s', { timeout: 900_000 }, async (workload, context) => {
    const source = join(workloadsDir(context), workload, 'migrations');
    const outcomes = await roundTrips({ name: workload, source, targets: migrationFolders(source).slice(-20) });
    expect(outcomes.size).toBe(20);
    // Every target is exact, differs only in column order, or is refused by data (each checked above).
    expect([...outcomes.values()].every((o) => ['exact', 'column order', 'data'].includes(o))).toBe(true);
  });
});
