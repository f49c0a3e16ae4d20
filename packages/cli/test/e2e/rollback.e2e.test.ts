/**
 * `digilog-db rollback`, `migrate --to` and `status --json`'s rollback targets, run with the built
 * binary against the real PostgreSQL: a rollback that drops a column holding data is refused in
 * production (exit 4, with the count) and goes through when acknowledged; bad input is one line,
 * its exit code, and nothing changed (folder, schema.prisma, database). With a ready
 * SHADOW_DATABASE_URL (a role that may not CREATE DATABASE), it gives what temporary shadow
 * databases give. A rollback that fails after adding enum values back is recorded failed like any
 * migration, the values stay, and resolve --rolled-back then migrate complete it once the cause is fixed.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { passwordRole, testDatabases, type TestDatabase } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';
import { schemaDump } from '../support/psql.js';

const createDatabase = testDatabases();

const HISTORY = {
  '20240101000000_init': 'CREATE TABLE "Account" ("id" INTEGER NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "Account_pkey" PRIMARY KEY ("id"));',
  '20240102000000_add_nickname': 'ALTER TABLE "Account" ADD COLUMN "nickname" TEXT;',
  '20240103000000_add_plan': 'CREATE TABLE "Plan" ("id" INTEGER NOT NULL, CONSTRAINT "Plan_pkey" PRIMARY KEY ("id"));',
};

/** A project whose schema.prisma matches its history, applied to a fresh database (up to `to`, when given). */
async function deployedProject(prefix: string, { to }: { to?: string } = {}): Promise<{ root: string; dir: string; db: TestDatabase; env: Record<string, string> }> {
  const dir = writeMigrations(HISTORY);
  const root = dirname(dirname(dir));
  const db = await createDatabase(prefix);
  const env = { DATABASE_URL: db.url };
  expect((await runCli(['migrate'], env, root)).code).toBe(0);
  expect((await runCli(['pull'], env, root)).code).toBe(0);
  if (to !== undefined) {
    // Back to a partial deploy for the cases that need one: a second database migrated only up to `to`.
    const partial = await createDatabase(`${prefix}_partial`);
    expect((await runCli(['migrate', '--to', to], { DATABASE_URL: partial.url }, root)).code).toBe(0);
    return { root, dir, db: partial, env: { DATABASE_URL: partial.url } };
  }
  return { root, dir, db, env };
}

/** What a refused command must leave as it was. */
async function snapshot(root: string, dir: string, db: TestDatabase): Promise<string> {
  const rows = await db.query<{ migration_name: string; finished: boolean }>('SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at, migration_name');
  return JSON.stringify({ folders: readdirSync(dir).sort(), schema: readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8'), rows, dump: schemaDump(db.url) });
}

describe('rollback with data, in production', () => {
  it('refuses a rollback that drops a column holding values (exit 4, with their count), applies it when acknowledged', async () => {
    const { root, dir, db } = await deployedProject('digilog_rb_prod');
    await db.query(`INSERT INTO "Account" VALUES (1, 'a@example.invalid', 'ada'), (2, 'b@example.invalid', 'bob'), (3, 'c@example.invalid', NULL)`);
    const env = { DATABASE_URL: db.url, NODE_ENV: 'production', DIGILOG_BACKUP: 'false' };
    const before = await snapshot(root, dir, db);

    const refused = await runCli(['rollback', '--to', '20240101000000_init', '--yes'], env, root);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('Refusing Dangerous changes in production (nothing was applied)');
    expect(refused.stderr).toContain('drops column "Account"."nickname", which holds 2 non-null values');
    expect(await snapshot(root, dir, db)).toBe(before);

    const applied = await runCli(['rollback', '--to', '20240101000000_init', '--yes', '--allow-dangerous', '--json'], env, root);
    expect(applied.code, applied.stderr).toBe(0);
    const result = JSON.parse(applied.stdout) as { action: string; migration: string; undone: string[]; plan: { migrations: Array<{ findings: Array<{ rule: string; droppedValues?: number; acknowledged: boolean }> }> } };
    expect(result.action).toBe('created-and-applied');
    expect(result.undone).toEqual(['20240103000000_add_plan', '20240102000000_add_nickname']);
    expect(result.migration).toMatch(/^\d{14}_rollback_to_20240101000000_init$/);
    expect(result.plan.migrations[0]!.findings.find((f) => f.rule === 'drop-column')).toMatchObject({ droppedValues: 2, acknowledged: true });
    const sql = readFileSync(join(dir, result.migration, 'migration.sql'), 'utf8');
    expect(sql).toMatch(/^-- digilog:allow drop-column/m);
    expect(await db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'Account' ORDER BY ordinal_position")).toEqual([{ column_name: 'id' }, { column_name: 'email' }]);
    expect(readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8')).not.toContain('nickname');
    expect((await runCli(['status'], env, root)).code).toBe(0);
  });
});

describe('rollback: bad input is one line, its exit code, and no change', () => {
  it('an unknown target, --to and --last both or neither, a --last too far, an unanswered prompt, a schema.prisma with changes no migration has', async () => {
    const { root, dir, db, env } = await deployedProject('digilog_rb_bad');
    const cases: Array<{ args: string[]; code: number; line: RegExp; edit?: () => void }> = [
      { args: ['rollback', '--to', '20240109000000_nope', '--yes'], code: 2, line: /^Error: Unknown migration "20240109000000_nope": no such folder in the migrations folder$/ },
      { args: ['rollback'], code: 2, line: /^Error: rollback needs exactly one of --to <migration> or --last <n>$/ },
      { args: ['rollback', '--to', '20240101000000_init', '--last', '1'], code: 2, line: /^Error: rollback needs exactly one of --to <migration> or --last <n>$/ },
      { args: ['rollback', '--last', '3', '--yes'], code: 2, line: /^Error: --last 3: 3 migration\(s\) are applied, so at most 2 can be rolled back$/ },
      { args: ['rollback', '--last', '1'], code: 2, line: /^Error: rollback needs confirmation, and this session is not interactive$/ },
      {
        args: ['rollback', '--last', '1', '--yes'],
        code: 2,
        line: /^Error: .*schema\.prisma differs from the applied migrations \(e\.g\. .*"Extra".*\): a rollback would overwrite that change$/,
        edit: () => writeFileSync(join(root, 'prisma', 'schema.prisma'), `${readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8')}\nmodel Extra {\n  id Int @id\n}\n`),
      },
    ];
    for (const { args, code, line, edit } of cases) {
      edit?.();
      const before = await snapshot(root, dir, db);
      const run = await runCli(args, env, root);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr.split('\n')[0], args.join(' ')).toMatch(line);
      expect(run.stdout).toBe('');
      expect(await snapshot(root, dir, db), args.join(' ')).toBe(before);
    }
  });

  it('a target that is not applied (exit 2), and --json: one document', async () => {
    const { root, dir, db, env } = await deployedProject('digilog_rb_notapplied', { to: '20240102000000_add_nickname' });
    const before = await snapshot(root, dir, db);
    const run = await runCli(['rollback', '--to', '20240103000000_add_plan', '--yes', '--json'], env, root);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { ok: boolean; error: { message: string; hint: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error.message).toBe('Migration 20240103000000_add_plan is not applied to this database: there is nothing after it to roll back');
    expect(doc.error.hint).toContain('digilog-db migrate --to 20240103000000_add_plan');
    // Anything else pending: refused too (exit 3), until the history is deployed.
    const pending = await runCli(['rollback', '--to', '20240101000000_init', '--yes'], env, root);
    expect(pending.code).toBe(3);
    expect(pending.stderr.split('\n')[0]).toBe('Error: 1 migration(s) are not applied yet (20240103000000_add_plan): roll back a fully deployed history');
    expect(await snapshot(root, dir, db)).toBe(before);
  });
});

describe('migrate --to and status --json', () => {
  it('migrate --to applies only up to the named migration; an unknown name is exit 2 with nothing applied', async () => {
    const dir = writeMigrations(HISTORY);
    const root = dirname(dirname(dir));
    const db = await createDatabase('digilog_rb_to');
    const env = { DATABASE_URL: db.url };
    const unknown = await runCli(['migrate', '--to', '20240109000000_nope'], env, root);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('Error: Unknown migration "20240109000000_nope" for --to: no such folder in the migrations folder');
    const dry = JSON.parse((await runCli(['migrate', '--to', '20240102000000_add_nickname', '--dry-run', '--json'], env, root)).stdout) as { pending: string[] };
    expect(dry.pending).toEqual(['20240101000000_init', '20240102000000_add_nickname']);
    const step = await runCli(['migrate', '--to', '20240102000000_add_nickname', '--json'], env, root);
    expect((JSON.parse(step.stdout) as { applied: Array<{ name: string }> }).applied.map((a) => a.name)).toEqual(['20240101000000_init', '20240102000000_add_nickname']);
    const status = await runCli(['status', '--json'], env, root);
    expect(status.code).toBe(3);
    expect((JSON.parse(status.stdout) as { pending: string[] }).pending).toEqual(['20240103000000_add_plan']);
    expect((JSON.parse(status.stdout) as { rollback: { possible: boolean; reason: string } }).rollback).toMatchObject({ possible: false, reason: 'the database is not up to date with the migrations folder (pending)' });
  });

  it('status --json lists where a rollback is possible and what each would drop', async () => {
    const { root, env } = await deployedProject('digilog_rb_status');
    const status = await runCli(['status', '--json'], env, root);
    expect(status.code).toBe(0);
    const { rollback } = JSON.parse(status.stdout) as { rollback: { possible: boolean; omitted: number; targets: Array<{ to: string; undoes: string[]; drops: Record<string, string[]>; downSql: string }> } };
    expect(rollback.possible).toBe(true);
    expect(rollback.omitted).toBe(0);
    expect(rollback.targets).toEqual([
      { to: '20240102000000_add_nickname', undoes: ['20240103000000_add_plan'], drops: { tables: ['Plan'], columns: [], indexes: [], types: [] }, downSql: 'computed' },
      { to: '20240101000000_init', undoes: ['20240103000000_add_plan', '20240102000000_add_nickname'], drops: { tables: ['Plan'], columns: ['Account.nickname'], indexes: [], types: [] }, downSql: 'computed' },
    ]);
  });
});

/**
 * A schema dump without the public schema's own entries, which pg_dump lists once the schema is
 * not initdb's: given to another owner (the role's databases here), or recreated when a shadow
 * database is emptied (`DROP SCHEMA … CASCADE; CREATE SCHEMA …`, as Prisma's reset does).
 */
const tablesOf = (dump: string) => dump.replace(/--\n-- Name: (?:SCHEMA )?public; Type: (?:SCHEMA|COMMENT)[^\n]*\n--\n\n[^\n]*\n\n\n/g, '');

describe('rollback with a ready SHADOW_DATABASE_URL', () => {
  // No CREATEDB: a temporary shadow database would fail, so everything goes through the given one (as on a managed server).
  const role = passwordRole('digilog_rb_shadow_owner', 'Sh4dow-Given!pw');
  const owned: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of owned) await db.drop();
    await role.drop();
  });

  it('--create-only and applied: the migration and schema.prisma temporary shadows give; the shadow database holds the target, as Prisma leaves one', async () => {
    const target = '20240101000000_init';
    const reference = await deployedProject('digilog_rb_tmpshadow');
    const referenceRun = await runCli(['rollback', '--to', target, '--create-only', '--json'], reference.env, reference.root);
    expect(referenceRun.code, referenceRun.stderr).toBe(0);
    const expected = { sql: readFileSync(join(reference.dir, (JSON.parse(referenceRun.stdout) as { migration: string }).migration, 'migration.sql'), 'utf8'), schema: readFileSync(join(reference.root, 'prisma', 'schema.prisma'), 'utf8') };
    const atTarget = await createDatabase('digilog_rb_attarget');
    expect((await runCli(['migrate', '--to', target], { DATABASE_URL: atTarget.url }, reference.root)).code).toBe(0);

    await role.create();
    const dir = writeMigrations(HISTORY);
    const root = dirname(dirname(dir));
    const [db, shadow] = [await createDatabase('digilog_rb_given'), await createDatabase('digilog_rb_given_shadow')];
    owned.push(db, shadow);
    const env = { DATABASE_URL: await role.own(db), SHADOW_DATABASE_URL: await role.own(shadow) };
    await shadow.query('CREATE TABLE "Leftover" ("id" INTEGER)');
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['pull'], env, root)).code).toBe(0);
    const schemaBefore = readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8');

    const created = await runCli(['rollback', '--to', target, '--create-only', '--json'], env, root);
    expect(created.code, created.stderr).toBe(0);
    const name = (JSON.parse(created.stdout) as { migration: string }).migration;
    expect({ sql: readFileSync(join(dir, name, 'migration.sql'), 'utf8'), schema: readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8') }).toEqual(expected);
    // Emptied before use, then the history up to the target replayed last: what Prisma's engine leaves in a shadow database it is given.
    expect(tablesOf(schemaDump(shadow.url))).toBe(schemaDump(atTarget.url));

    // The same, applied: back to before the file was written, then rollback without --create-only.
    rmSync(join(dir, name), { recursive: true });
    writeFileSync(join(root, 'prisma', 'schema.prisma'), schemaBefore);
    await shadow.query('CREATE TABLE "Leftover" ("id" INTEGER)');
    const applied = await runCli(['rollback', '--to', target, '--yes', '--json'], { ...env, DIGILOG_BACKUP: 'false' }, root);
    expect(applied.code, applied.stderr).toBe(0);
    const result = JSON.parse(applied.stdout) as { action: string; migration: string };
    expect(result.action).toBe('created-and-applied');
    expect(readFileSync(join(dir, result.migration, 'migration.sql'), 'utf8')).toBe(expected.sql);
    expect(tablesOf(schemaDump(db.url))).toBe(schemaDump(atTarget.url));
    expect(tablesOf(schemaDump(shadow.url))).toBe(schemaDump(atTarget.url));
    expect((await runCli(['status'], env, root)).code).toBe(0);
  });
});

describe('rollback that fails after adding enum values back', () => {
  it('is recorded failed (exit 6, P3018) with the values it committed first; after the fix, resolve --rolled-back and migrate complete it', async () => {
    const dir = writeMigrations({
      '20240101000000_init': 'CREATE TYPE "Status" AS ENUM (\'a\', \'b\', \'c\');\nCREATE TABLE "Item" ("id" INTEGER NOT NULL, "status" "Status" NOT NULL, "code" TEXT NOT NULL, CONSTRAINT "Item_pkey" PRIMARY KEY ("id"));\nCREATE UNIQUE INDEX "Item_code_key" ON "Item"("code");',
      '20240102000000_remove_b':
        'BEGIN;\nCREATE TYPE "Status_new" AS ENUM (\'a\', \'c\');\nALTER TABLE "Item" ALTER COLUMN "status" TYPE "Status_new" USING ("status"::text::"Status_new");\nALTER TYPE "Status" RENAME TO "Status_old";\nALTER TYPE "Status_new" RENAME TO "Status";\nDROP TYPE "Status_old";\nCOMMIT;',
      '20240103000000_drop_code_unique': 'DROP INDEX "Item_code_key";',
    });
    const root = dirname(dirname(dir));
    const [db, atTarget] = [await createDatabase('digilog_rb_enumfail'), await createDatabase('digilog_rb_enumfail_init')];
    const env = { DATABASE_URL: db.url, DIGILOG_BACKUP: 'false' };
    expect((await runCli(['migrate', '--to', '20240101000000_init'], { DATABASE_URL: atTarget.url }, root)).code).toBe(0);
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    expect((await runCli(['pull'], env, root)).code).toBe(0);
    // Rows the target's unique index cannot hold: the rollback's second transaction fails, after the first added 'b' back.
    await db.query(`INSERT INTO "Item" VALUES (1, 'a', 'x'), (2, 'c', 'x')`);
    const failed = await runCli(['rollback', '--to', '20240101000000_init', '--yes'], env, root);
    expect(failed.code).toBe(6);
    expect(failed.stderr).toMatch(/^Error: Migration \d{14}_rollback_to_20240101000000_init failed to apply: could not create unique index "Item_code_key" \[P3018\]$/m);
    const name = readdirSync(dir).find((n) => n.includes('_rollback_to_'))!;
    expect(readFileSync(join(dir, name, 'migration.sql'), 'utf8')).toContain('BEGIN;\nALTER TYPE "public"."Status" ADD VALUE IF NOT EXISTS \'b\' BEFORE \'c\';\nCOMMIT;');
    expect(await db.query(`SELECT enum_range(NULL::"Status")::text AS labels`)).toEqual([{ labels: '{a,b,c}' }]);
    expect(await db.query(`SELECT finished_at IS NULL AS failed FROM _prisma_migrations WHERE migration_name = '${name}'`)).toEqual([{ failed: true }]);
    const status = await runCli(['status'], env, root);
    expect(status.code).toBe(6);
    expect(status.stdout).toContain(`digilog-db resolve --rolled-back "${name}"`);

    await db.query(`UPDATE "Item" SET "code" = 'y' WHERE "id" = 2`);
    expect((await runCli(['resolve', '--rolled-back', name], env, root)).code).toBe(0);
    const rerun = await runCli(['migrate'], env, root);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(schemaDump(db.url)).toBe(schemaDump(atTarget.url));
    expect((await runCli(['status'], env, root)).code).toBe(0);
  });
});
