/** The migration core against real PostgreSQL: apply, atomicity, failure recording, recovery, integrity. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/read/checksum.js';
import { DigilogError } from '../../src/errors.js';
import { checkStatus } from '../../src/status/check-status.js';
import { migrate } from '../../src/deploy/migrate.js';
import { reset } from '../../src/develop/reset.js';
import { resolveMigration } from '../../src/deploy/resolve.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';
import { testRunner } from '../support/runner.js';

const databases: TestDatabase[] = [];
async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

async function expectDigilogError(promise: Promise<unknown>, kind: string, prismaCode?: string): Promise<DigilogError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DigilogError);
  expect((error as DigilogError).kind).toBe(kind);
  if (prismaCode) expect((error as DigilogError).prismaCode).toBe(prismaCode);
  return error as DigilogError;
}

async function tables(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return rows.map((r) => r.tablename);
}

describe('script edge cases (one simple query, as the native engine sends it)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });

  it('[row 14] applies DO blocks, function bodies, semicolons in literals, E-strings and comments intact', async () => {
    const functionBody = `
DECLARE new_id int;
BEGIN
  INSERT INTO notes (body) VALUES (b || '; via function') RETURNING id INTO new_id; -- ; in a comment
  RETURN new_id;
END;
`;
    const dir = writeMigrations({
      '20240101000000_edge_cases': `-- a comment; with a semicolon
CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
/* block comment ; still a comment /* nested; too */ still; */
DO $$ BEGIN RAISE NOTICE $q$x;y$q$; INSERT INTO notes (body) VALUES ('from; DO'); END $$;
CREATE FUNCTION add_note(b text) RETURNS int LANGUAGE plpgsql AS $fn$${functionBody}$fn$;
CREATE FUNCTION semis() RETURNS text LANGUAGE sql AS 'SELECT '';;'' || $x$;$x$';
INSERT INTO notes (body) VALUES (';'), ('it''s; fine'), (E'tab\\t;semi'), (E'quote\\'; still'), (E'back\\\\;slash'), ($tag$dollar; $$ inside$tag$);
SELECT add_note('from');
INSERT INTO notes (body) SELECT semis();
-- last line: a comment; without a newline`,
    });
    const result = await migrate(testRunner(db.url, dir));
    expect(result.applied.map((a) => a.name)).toEqual(['20240101000000_edge_cases']);
    const rows = await db.query<{ body: string }>('SELECT body FROM notes ORDER BY id');
    const expected = ['from; DO', ';', "it's; fine", 'tab\t;semi', "quote'; still", 'back\\;slash', 'dollar; $$ inside', 'from; via function', ';;;'];
    expect(rows.map((r) => r.body)).toEqual(expected);
    // The function body reached the server byte for byte, comments and semicolons included.
    const [fn] = await db.query<{ prosrc: string }>(`SELECT prosrc FROM pg_proc WHERE proname = 'add_note'`);
    expect(fn!.prosrc).toBe(functionBody);
    recordReliability({
      row: 14,
      scenario: 'One migration full of semicolons the stock adapter would split on',
      fault: 'DO $$…;…$$, plpgsql and SQL function bodies, \';\' and E\'…\' literals, $tag$ strings, nested /* ; */ and -- ; comments',
      result: `applied as one script: all ${expected.length} rows and the function source intact`,
      runners: 1,
    });
  });

  it('runs a file that manages its own BEGIN/COMMIT, and a single CREATE INDEX CONCURRENTLY file', async () => {
    const dir = writeMigrations({
      '20240102000000_own_transaction': 'BEGIN;\nCREATE TABLE tags (id int PRIMARY KEY, name text);\nCOMMIT;\n',
      '20240103000000_concurrent_index': 'CREATE INDEX CONCURRENTLY tags_name_idx ON tags (name);\n',
    });
    db = await freshDatabase();
    const result = await migrate(testRunner(db.url, dir));
    expect(result.applied.map((a) => [a.name, a.mode])).toEqual([
      ['20240102000000_own_transaction', 'as-written'],
      ['20240103000000_concurrent_index', 'as-written'],
    ]);
    const [index] = await db.query<{ indisvalid: boolean }>(
      `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'tags_name_idx'`,
    );
    expect(index?.indisvalid).toBe(true);
    expect((await checkStatus(testRunner(db.url, dir))).state).toBe('upToDate');
  });
});

describe('a migration with bad SQL', () => {
  it('[row 13] is recorded as failed, leaves nothing behind, blocks migrate until resolved, then recovers', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({
      '20240101000000_init': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      '20240102000000_broken': 'CREATE TABLE a (id int);\nINSERT INTO users VALUES (1);\nINSERT INTO nope VALUES (1);\nCREATE TABLE d (id int);\nCREATE INDEX ON a (id);\n',
      '20240103000000_after': 'CREATE TABLE e (id int);\n',
    });
    const runner = testRunner(db.url, dir);
    const failure = await expectDigilogError(migrate(runner), 'migration-sql', 'P3018');
    expect(failure.exitCode).toBe(6);
    expect(failure.details).toMatchObject({ migration: '20240102000000_broken', sqlState: '42P01', line: 3 });
    expect(await tables(db)).toEqual(['_prisma_migrations', 'users']);
    expect(await db.query('SELECT * FROM users')).toEqual([]);

    const [failedRow] = await db.query<{ finished_at: Date | null; logs: string; applied_steps_count: number }>(
      `SELECT finished_at, logs, applied_steps_count FROM _prisma_migrations WHERE migration_name = '20240102000000_broken'`,
    );
    expect(failedRow).toMatchObject({ finished_at: null, applied_steps_count: 0 });
    expect(failedRow!.logs).toContain('Database error code: 42P01');
    expect(failedRow!.logs).toContain('relation "nope" does not exist');
    // The position the server reported, as a line of the file with a caret under the culprit.
    expect(failedRow!.logs).toContain('Position:\n   3 | INSERT INTO nope VALUES (1);\n                   ^');

    const status = await checkStatus(runner);
    expect(status.state).toBe('failed');
    expect(status.failed.map((f) => f.name)).toEqual(['20240102000000_broken']);
    for (let attempt = 0; attempt < 2; attempt++) expect((await expectDigilogError(migrate(runner), 'failed-migration', 'P3009')).exitCode).toBe(6);
    expect(await tables(db)).toEqual(['_prisma_migrations', 'users']);
    recordReliability({
      row: 13,
      scenario: 'SQL error at statement 3 of 5 of a transactional migration',
      fault: 'INSERT into a missing table after a CREATE TABLE and an INSERT',
      result: 'nothing of it kept; failed row logs 42P01, line 3 with a caret, and the message; migrate refused (exit 6) twice until resolve',
      runners: 1,
      faults: 1,
    });

    writeFileSync(join(dir, '20240102000000_broken', 'migration.sql'), 'CREATE TABLE a (id int);\n');
    await resolveMigration(runner, 'rolled-back', '20240102000000_broken');
    const recovered = await migrate(runner);
    expect(recovered.applied.map((a) => a.name)).toEqual(['20240102000000_broken', '20240103000000_after']);
    // The rolled-back row has the old checksum; it must not leave a permanent "modified" warning (Prisma #9829).
    expect((await checkStatus(runner)).state).toBe('upToDate');
  });
});

describe('integrity', () => {
  it('reports an edited applied migration with both checksums, and migrate refuses to continue', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const runner = testRunner(db.url, dir);
    await migrate(runner);
    const original = sha256Hex('CREATE TABLE a (id int);\n');
    writeFileSync(join(dir, '20240101000000_init', 'migration.sql'), 'CREATE TABLE a (id bigint);\n');
    addMigration(dir, '20240102000000_next', 'CREATE TABLE b (id int);\n');
    const status = await checkStatus(runner);
    expect(status.state).toBe('edited');
    expect(status.edited).toEqual([
      expect.objectContaining({ name: '20240101000000_init', recordedChecksum: original, fileChecksum: sha256Hex('CREATE TABLE a (id bigint);\n') }),
    ]);
    const error = await expectDigilogError(migrate(runner), 'history-mismatch');
    expect(error.message).toContain(original);
    expect(await tables(db)).not.toContain('b');
    const forced = await migrate({ ...runner, allowModifiedHistory: true });
    expect(forced.applied.map((a) => a.name)).toEqual(['20240102000000_next']);
  });

  it('reports migrations applied but missing from disk, and out-of-order ones (refused in production)', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({ '20240102000000_b': 'CREATE TABLE b (id int);\n', '20240103000000_c': 'CREATE TABLE c (id int);\n' });
    const runner = testRunner(db.url, dir);
    await migrate(runner);
    const other = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n', '20240102000000_b': 'CREATE TABLE b (id int);\n' });
    const status = await checkStatus(testRunner(db.url, other));
    expect(status.missingFromDisk).toEqual(['20240103000000_c']);
    expect(status.outOfOrder).toEqual(['20240101000000_a']);
    await expectDigilogError(migrate(testRunner(db.url, other, { production: true })), 'history-mismatch');
    const result = await migrate(testRunner(db.url, other));
    expect(result.warnings.join('\n')).toContain('20240103000000_c');
  });

  it('refuses a non-empty schema without history (P3005) and baselines with resolve --applied', async () => {
    const db = await freshDatabase();
    await db.query('CREATE TABLE legacy (id int)');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE legacy (id int);\n', '20240102000000_next': 'CREATE TABLE n (id int);\n' });
    const runner = testRunner(db.url, dir);
    expect((await checkStatus(runner)).state).toBe('notManaged');
    await expectDigilogError(migrate(runner), 'not-managed', 'P3005');
    await resolveMigration(runner, 'applied', '20240101000000_init');
    const result = await migrate(runner);
    expect(result.applied.map((a) => a.name)).toEqual(['20240102000000_next']);
  });
});

describe('resolve errors', () => {
  it('rejects unknown names and migrations that are not failed, changing nothing', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const runner = testRunner(db.url, dir);
    await migrate(runner);
    const before = await db.query('SELECT * FROM _prisma_migrations ORDER BY id');
    await expectDigilogError(resolveMigration(runner, 'applied', 'nope'), 'usage', 'P3017');
    await expectDigilogError(resolveMigration(runner, 'rolled-back', 'nope'), 'usage', 'P3011');
    await expectDigilogError(resolveMigration(runner, 'rolled-back', '20240101000000_init'), 'usage', 'P3012');
    await expectDigilogError(resolveMigration(runner, 'applied', '20240101000000_init'), 'usage', 'P3008');
    expect(await db.query('SELECT * FROM _prisma_migrations ORDER BY id')).toEqual(before);
  });
});

describe('reset', () => {
  it('drops and re-applies, and is refused in production without force before touching anything', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const runner = testRunner(db.url, dir);
    await migrate(runner);
    await db.query('INSERT INTO a VALUES (1); CREATE TABLE stray (id int);');
    await expectDigilogError(reset({ ...runner, production: true }), 'production-guard');
    expect(await tables(db)).toContain('stray');
    const result = await reset(runner);
    expect(result.applied.map((a) => a.name)).toEqual(['20240101000000_init']);
    expect(await tables(db)).toEqual(['_prisma_migrations', 'a']);
    expect(await db.query('SELECT * FROM a')).toEqual([]);
  });
});

describe('schema from the connection string', () => {
  it('honours ?schema= as Prisma does: the history and the objects live in that schema', async () => {
    const db = await freshDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const url = `${db.url}?schema=tenant_one`;
    await migrate(testRunner(url, dir));
    const rows = await db.query<{ schemaname: string; tablename: string }>(
      `SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 2`,
    );
    expect(rows).toEqual([
      { schemaname: 'tenant_one', tablename: '_prisma_migrations' },
      { schemaname: 'tenant_one', tablename: 'a' },
    ]);
  });
});
