/**
 * The pure parts of `rollback`: choosing the target, grouping the undone migrations by where
 * their down SQL comes from, naming the new migration, the down steps PostgreSQL requires
 * (enum values committed first and in order, CONCURRENTLY indexes), the objects the schema
 * engine does not manage, `migrate --to`'s filter, and the dropped-column context.
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/plan/classify.js';
import { applyContext, droppedColumns } from '../../src/plan/context.js';
import { concurrentIndexes, isolateEnumAdditions, notUndone, statementsOf, withConcurrentIndexBuilds } from '../../src/plan/down-steps.js';
import { parseStatements } from '../../src/plan/execution-mode.js';
import { constraintSteps, mentionedObjects, objectSteps } from '../../src/plan/object-steps.js';
import { downSegments, rollbackHeader, rollbackMigrationName, selectRollback } from '../../src/plan/rollback-plan.js';
import { toMigration } from '../../src/read/migrations-folder.js';
import type { SchemaObject } from '../../src/db/schema-objects.js';
import { pendingUpTo } from '../../src/deploy/migrate-to.js';
import { objectsOf } from '../../src/status/rollback-targets.js';

const APPLIED = ['20240101000000_init', '20240102000000_a', '20240103000000_b', '20240104000000_c'];

describe('choosing what a rollback undoes', () => {
  it('--to takes the applied migrations after the target, --last the newest N', () => {
    expect(selectRollback(APPLIED, APPLIED, { to: '20240102000000_a' })).toEqual({ target: '20240102000000_a', targetCount: 2, undo: ['20240103000000_b', '20240104000000_c'] });
    expect(selectRollback(APPLIED, APPLIED, { last: 1 })).toEqual({ target: '20240103000000_b', targetCount: 3, undo: ['20240104000000_c'] });
    expect(selectRollback(APPLIED, APPLIED, { to: '20240104000000_c' }).undo).toEqual([]);
  });

  it('refuses an unknown name, a target that is not applied, and a --last past the first migration, each with the next step', () => {
    const local = [...APPLIED, '20240105000000_d'];
    expect(() => selectRollback(APPLIED, local, { to: 'nope' })).toThrow('Unknown migration "nope": no such folder in the migrations folder');
    expect(() => selectRollback(APPLIED, local, { to: '20240105000000_d' })).toThrow('Migration 20240105000000_d is not applied to this database');
    for (const last of [0, 4, 2.5]) expect(() => selectRollback(APPLIED, local, { last })).toThrow(`--last ${last}: 4 migration(s) are applied, so at most 3 can be rolled back`);
    try {
      selectRollback(APPLIED, local, { to: '20240105000000_d' });
    } catch (error) {
      expect((error as { exitCode: number; hint: string }).exitCode).toBe(2);
      expect((error as { hint: string }).hint).toContain('digilog-db migrate --to 20240105000000_d');
    }
  });

  it('groups runs without down.sql into one engine diff each, newest first, committed files one by one', () => {
    const selection = selectRollback(APPLIED, APPLIED, { to: '20240101000000_init' });
    const committed = new Set(['20240103000000_b']);
    expect(downSegments(selection, (m) => committed.has(m))).toEqual([
      { source: 'computed', migrations: ['20240104000000_c'], after: 4, before: 3 },
      { source: 'committed', migrations: ['20240103000000_b'], after: 3, before: 2 },
      { source: 'computed', migrations: ['20240102000000_a'], after: 2, before: 1 },
    ]);
    expect(downSegments(selection, () => false)).toEqual([{ source: 'computed', migrations: ['20240104000000_c', '20240103000000_b', '20240102000000_a'], after: 4, before: 1 }]);
    expect(rollbackHeader(selection, downSegments(selection, (m) => committed.has(m)), ['drop-column'])).toContain('--   20240103000000_b: its down.sql\n');
    expect(rollbackHeader(selection, [], ['drop-column', 'drop-table'])).toContain('-- digilog:allow drop-column, drop-table\n');
  });

  it('names the new migration after every existing one, even when the clock is behind, within 200 bytes', () => {
    const now = new Date('2026-12-02T10:20:30Z');
    expect(rollbackMigrationName('20240101000000_init', APPLIED, now)).toBe('20261202102030_rollback_to_20240101000000_init');
    expect(rollbackMigrationName('x', ['20270101000000_future'], now)).toBe('20270101000001_rollback_to_x');
    expect(Buffer.byteLength(rollbackMigrationName('t'.repeat(300), APPLIED, now))).toBe(200);
    expect(() => rollbackMigrationName('x', ['9_no_timestamp'], now)).toThrow('Cannot name the rollback migration so that it sorts after 9_no_timestamp');
  });
});

describe('down steps PostgreSQL requires', () => {
  it('adds enum values back first, in the target order, committed before the rest uses them', async () => {
    const sql = '-- AlterEnum\nALTER TYPE "public"."Plan" ADD VALUE \'FREE\';\nALTER TYPE "public"."Plan" ADD VALUE \'BASIC\';\n\n-- AlterTable\nALTER TABLE "public"."Team" ALTER COLUMN "plan" SET DEFAULT \'FREE\';\n';
    const out = isolateEnumAdditions(sql, await parseStatements(sql), new Map([['Plan', ['FREE', 'BASIC', 'PRO', 'ENTERPRISE']]]));
    // IF NOT EXISTS: committed on their own, they stay when a later statement fails, and the file can run again.
    expect(out).toContain('BEGIN;\nALTER TYPE "public"."Plan" ADD VALUE IF NOT EXISTS \'BASIC\' BEFORE \'PRO\';\nALTER TYPE "public"."Plan" ADD VALUE IF NOT EXISTS \'FREE\' BEFORE \'BASIC\';\nCOMMIT;\n\nBEGIN;');
    expect(out).toMatch(/ALTER TABLE "public"\."Team" ALTER COLUMN "plan" SET DEFAULT 'FREE';\n\nCOMMIT;\n$/);
    // Without the target's order the statements stay as the engine wrote them (IF NOT EXISTS added); alone, they need no transaction.
    const alone = 'ALTER TYPE "Plan" ADD VALUE \'FREE\';';
    expect(isolateEnumAdditions(alone, await parseStatements(alone), new Map())).not.toContain('BEGIN');
    expect(isolateEnumAdditions(alone, await parseStatements(alone), new Map())).toContain('ALTER TYPE "Plan" ADD VALUE IF NOT EXISTS \'FREE\';');
    expect(isolateEnumAdditions('DROP TABLE "a";', await parseStatements('DROP TABLE "a";'), new Map())).toBe('DROP TABLE "a";');
  });

  it('re-creates CONCURRENTLY the indexes a CONCURRENTLY migration built or dropped (renames followed), the rest byte for byte', async () => {
    const forward = await parseStatements('CREATE INDEX CONCURRENTLY "a" ON t (x); DROP INDEX CONCURRENTLY IF EXISTS "b"; ALTER INDEX "a" RENAME TO "a2"; CREATE INDEX "plain" ON t (y);');
    const names = concurrentIndexes(forward);
    expect([...names].sort()).toEqual(['a', 'a2', 'b']);
    const down = '-- DropIndex\nDROP INDEX "public"."a2";\n\n-- CreateIndex\nCREATE UNIQUE INDEX "b" ON "public"."t"("x" ASC);\n\n-- CreateIndex\nCREATE INDEX "plain" ON "public"."t"("y");\n';
    expect(withConcurrentIndexBuilds(down, await parseStatements(down), names)).toBe(down.replace('CREATE UNIQUE INDEX "b"', 'CREATE UNIQUE INDEX CONCURRENTLY "b"'));
  });

  it('says what the rollback does not undo: data changes, and without catalogs the objects the engine does not see', async () => {
    const statements = await parseStatements('CREATE TABLE n (id int); INSERT INTO n VALUES (1); UPDATE t SET a = 1; CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;');
    expect(notUndone('m', statements)).toEqual(['m: UPDATE t SET a =… (data it updated stays as updated)', 'm: CREATE FUNCTION f() RETURNS int… (functions are not seen by the schema engine: it stays)']);
    expect(notUndone('m', statements, { objects: false })).toEqual(['m: UPDATE t SET a =… (data it updated stays as updated)']);
    expect(await statementsOf('-- only a comment\n/* and another */')).toEqual([]);
  });
});

describe('what the schema engine does not manage', () => {
  const object = (kind: SchemaObject['kind'], key: string, name: string, create: string, table?: string): [string, SchemaObject] => [`${kind}:${key}`, { kind, key, name, create, drop: `DROP ${name}`, ...(table ? { table } : {}) }];

  it('puts back only the objects the undone migrations name (or whose table they change), creates before the engine\'s SQL, drops after', async () => {
    const undone = await parseStatements('CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql; CREATE TRIGGER tr BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch(); DROP SEQUENCE s; DROP TABLE b; CREATE EXTENSION pg_trgm;');
    const mentioned = mentionedObjects(undone);
    const now = new Map([object('function', 'public.touch()', 'touch', 'CREATE touch'), object('trigger', 'public.a.tr', 'tr', 'CREATE tr', 'a'), object('function', 'public.by_hand()', 'by_hand', 'CREATE by_hand'), object('extension', 'pg_trgm', 'pg_trgm', 'CREATE pg_trgm')]);
    const target = new Map([object('sequence', 'public.s', 's', 'CREATE s'), object('check', 'public.b.b_check', 'b_check', 'CREATE b_check', 'b')]);
    expect(objectSteps(now, target, mentioned)).toEqual({ before: ['DROP tr', 'CREATE s'], after: ['CREATE b_check', 'DROP touch', 'DROP pg_trgm'] });
  });

  it('drops and re-creates an index that backs a constraint as the constraint', async () => {
    const sql = '-- DropIndex\nDROP INDEX "public"."u_key";\n\n-- CreateIndex\nCREATE UNIQUE INDEX "v_key" ON "public"."t"("a" ASC);\n';
    const out = constraintSteps(sql, await parseStatements(sql), new Map([['u_key', { name: 'u_key', table: 'public."t"', definition: 'UNIQUE (b)' }]]), new Map([['v_key', { name: 'v_key', table: 'public."t"', definition: 'UNIQUE (a) DEFERRABLE' }]]));
    expect(out).toBe('-- DropIndex\nALTER TABLE public."t" DROP CONSTRAINT "u_key";\n\n-- CreateIndex\nALTER TABLE public."t" ADD CONSTRAINT "v_key" UNIQUE (a) DEFERRABLE;\n');
  });
});

describe('migrate --to, status rollback targets, dropped columns', () => {
  const local = APPLIED.map((name) => toMigration(name, `${name}/migration.sql`, ''));

  it('migrate --to keeps the pending migrations up to the named one, and refuses an unknown name', () => {
    expect(pendingUpTo(local.slice(1), local, '20240103000000_b').map((m) => m.name)).toEqual(['20240102000000_a', '20240103000000_b']);
    expect(pendingUpTo(local.slice(1), local, undefined)).toHaveLength(3);
    expect(() => pendingUpTo(local, local, '20240109000000_nope')).toThrow('Unknown migration "20240109000000_nope" for --to');
  });

  it('status reads what a rollback drops from down.sql, or from what the undone migrations create', async () => {
    const forward = await parseStatements('CREATE TABLE "A" (id int); ALTER TABLE "B" ADD COLUMN "c" int, DROP COLUMN "d"; CREATE INDEX "i" ON "B" ("c"); CREATE TYPE "E" AS ENUM (\'x\');');
    expect(objectsOf(forward, 'created')).toEqual({ tables: ['A'], columns: ['B.c'], indexes: ['i'], types: ['E'] });
    const down = await parseStatements('DROP TABLE "public"."A"; ALTER TABLE "B" DROP COLUMN "c"; DROP INDEX "i"; DROP TYPE "public"."E";');
    expect(objectsOf(down, 'dropped')).toEqual({ tables: ['A'], columns: ['B.c'], indexes: ['i'], types: ['E'] });
  });

  it('a dropped column holding values is Dangerous with their count; an all-NULL one keeps its level', async () => {
    const sql = 'ALTER TABLE "t" DROP COLUMN "full", DROP COLUMN "empty";';
    const findings = classify(await parseStatements(sql));
    expect(droppedColumns(findings)).toEqual(new Map([['t', ['full', 'empty']]]));
    const columnValues = new Map([['full', { nonNull: 3, exact: true }], ['empty', { nonNull: 0, exact: true }]]);
    const out = applyContext(findings, { tables: new Map([['t', { exists: true, estimatedRows: 5, empty: false, columnValues }]]), createdEarlier: new Set(), largeTableRows: 100_000 });
    expect(out.map((f) => [f.column, f.level, f.droppedValues])).toEqual([['full', 'dangerous', 3], ['empty', 'care', 0]]);
    expect(out[0]!.message).toBe('drops column "t"."full", which holds 3 non-null values: they are lost, and code still reading it breaks');
    const bounded = applyContext(findings, { tables: new Map([['t', { exists: true, estimatedRows: 5e6, empty: false, columnValues: new Map([['full', { nonNull: 100_000, exact: false }]]) }]]), createdEarlier: new Set(), largeTableRows: 100_000 });
    expect(bounded[0]!.context).toBe('"t"."full" holds at least 100000 non-null values right now');
  });
});
