/**
 * down.sql: `dev` writes it beside each new migration.sql, `digilog-db down-sql <migration>`
 * (re)generates it, and an extra file in a migration folder changes neither digilog-db's checksum
 * nor how Prisma's engine reads the history (its input holds only each folder's migration.sql,
 * as Prisma's CLI builds it; its diagnosis and its deploy are the same with and without it).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../src/read/engine-input.js';
import { checkStatus } from '../../src/status/check-status.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { HISTORIES_DIR, REPO_ROOT } from '../support/migrations.js';
import { engineDeployWhole, engineDiagnose } from '../support/prisma-engine.js';
import { migrationFolders, schemaDump } from '../support/psql.js';
import { testRunner } from '../support/runner.js';

const createDatabase = testDatabases();

/** A copy of a migrations folder as a project (with a bare schema.prisma beside it). */
function projectOf(source: string): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-down-'));
  const dir = join(root, 'prisma', 'migrations');
  cpSync(source, dir, { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  return { root, dir };
}

describe('down.sql', () => {
  it('dev writes it beside the new migration.sql, and it takes the database back to the schema before it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'digilog-down-dev-'));
    cpSync(join(REPO_ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
    const schema = join(root, 'prisma', 'schema.prisma');
    const db = await createDatabase('digilog_down_dev');
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate'], env, root)).code).toBe(0);
    const before = schemaDump(db.url);
    writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?'));
    const dev = await runCli(['dev', '--name', 'add_owner', '--json'], env, root);
    expect(dev.code, dev.stderr).toBe(0);
    const { migration, downPath } = JSON.parse(dev.stdout) as { migration: string; downPath: string };
    expect(downPath).toBe(join(root, 'prisma', 'migrations', migration, 'down.sql'));
    const down = readFileSync(downPath, 'utf8');
    expect(down).toMatch(/^-- down\.sql of \d{14}_add_owner: the SQL that undoes its migration\.sql/);
    expect(down).toMatch(/ALTER TABLE "public"\."\w+" DROP COLUMN "owner";/);
    expect(schemaDump(db.url)).not.toBe(before);
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db.url, '-f', downPath]);
    expect(schemaDump(db.url)).toBe(before);
  });

  it('down-sql <migration> writes it, --print prints it, an unknown migration is one line, exit 2, nothing written', async () => {
    const { root, dir } = projectOf(join(HISTORIES_DIR, 'renames-drops-and-backfills'));
    const db = await createDatabase('digilog_down_cli');
    const env = { DATABASE_URL: db.url };
    const printed = await runCli(['down-sql', '20240404070000_rename_conversation_to_chat', '--print'], env, root);
    expect(printed.code, printed.stderr).toBe(0);
    // The engine reads a rename as drop and create: the down SQL says so, and loses the table's rows.
    expect(printed.stdout).toContain('DROP TABLE "public"."Chat";');
    expect(printed.stdout).toContain('CREATE TABLE "public"."Conversation"');
    expect(existsSync(join(dir, '20240404070000_rename_conversation_to_chat', 'down.sql'))).toBe(false);
    const written = await runCli(['down-sql', '20240406070000_drop_legacy', '--json'], env, root);
    expect(written.code, written.stderr).toBe(0);
    const result = JSON.parse(written.stdout) as { path: string; sql: string; notes: string[] };
    expect(result.path).toBe(join(dir, '20240406070000_drop_legacy', 'down.sql'));
    expect(readFileSync(result.path, 'utf8')).toContain(result.sql);
    expect(result.sql).toContain('ADD COLUMN     "legacyCode" TEXT');
    expect(result.notes).toEqual(['20240406070000_drop_legacy: DELETE FROM "Item" WHERE "label"… (rows it deleted are not restored)']);
    const unknown = await runCli(['down-sql', '20240109000000_nope'], env, root);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe(`Error: Unknown migration "20240109000000_nope": no such folder in ${dir}`);
    expect(readdirSync(dir).filter((name) => existsSync(join(dir, name, 'down.sql')))).toEqual(['20240406070000_drop_legacy']);
  });

  it('an extra file in every migration folder changes neither the checksums nor how Prisma\'s engine reads and deploys the history', async () => {
    const plain = projectOf(join(HISTORIES_DIR, 'enum-evolution'));
    const withDown = projectOf(join(HISTORIES_DIR, 'enum-evolution'));
    for (const name of migrationFolders(withDown.dir)) writeFileSync(join(withDown.dir, name, 'down.sql'), `-- not a migration; ; $$ 'unterminated\nDROP TABLE "Team";\n`);
    // digilog-db: the same migrations with the same checksums; the engine's input is the same.
    expect(readMigrations(withDown.dir).map((m) => [m.name, m.checksum])).toEqual(readMigrations(plain.dir).map((m) => [m.name, m.checksum]));
    expect({ ...migrationsList(withDown.dir), baseDir: '' }).toEqual({ ...migrationsList(plain.dir), baseDir: '' });
    // Prisma's engine: the same deploy (names, rows), then the same diagnosis, in sync.
    const a = await createDatabase('digilog_down_extra');
    const b = await createDatabase('digilog_down_plain');
    expect(await engineDeployWhole(a.url, withDown.dir)).toEqual(await engineDeployWhole(b.url, plain.dir));
    const rows = 'SELECT migration_name, checksum, applied_steps_count FROM _prisma_migrations ORDER BY migration_name';
    expect(await a.query(rows)).toEqual(await b.query(rows));
    const diagnosis = await engineDiagnose(a.url, withDown.dir);
    expect({ failed: diagnosis.failedMigrationNames, edited: diagnosis.editedMigrationNames, history: diagnosis.history }).toEqual({ failed: [], edited: [], history: null });
    expect(schemaDump(a.url)).toBe(schemaDump(b.url));
    expect((await checkStatus(testRunner(a.url, withDown.dir))).state).toBe('upToDate');
  });
});
