/**
 * The developer workflow without native binaries: `dev`, `diff`, `push`
 * through Prisma's WASM engine and a shadow database that never outlives the
 * command.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { leakedShadows, shadowDatabases, testDatabases } from '../support/database.js';
import { validateJson } from '../support/golden.js';
import { REPO_ROOT } from '../support/migrations.js';

const newDatabase = testDatabases();

/** A copy of the project's prisma/ folder (schema + migrations) to change freely. */
function projectCopy(): { root: string; schema: string; migrations: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-dev-'));
  cpSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), join(root, 'prisma', 'schema.prisma'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  return { root, schema: join(root, 'prisma', 'schema.prisma'), migrations: join(root, 'prisma', 'migrations') };
}


const addOwner = (schema: string) =>
  writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?      @db.VarChar(64)'));

describe('dev, diff, push', () => {
  it('dev turns a schema change into the SQL diff prints, applies it, and leaves no shadow database', async () => {
    const db = await newDatabase('digilog_dev');
    const project = projectCopy();
    const env = { DATABASE_URL: db.url };
    const args = ['--schema', project.schema];
    const shadowsBefore = await shadowDatabases();

    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    const inSync = await runCli(['dev', '--name', 'nothing', ...args], env);
    expect(inSync.code).toBe(0);
    expect(inSync.stdout).toContain('Already in sync');
    expect(readdirSync(project.migrations).filter((n) => n.endsWith('_nothing'))).toEqual([]);

    addOwner(project.schema);
    const diff = await runCli(['diff', '--exit-code', '--json', ...args], env);
    expect(diff.code).toBe(EXIT_CODES.pending);
    const expectedSql = JSON.parse(diff.stdout).sql as string;
    expect(expectedSql).toContain('ADD COLUMN     "owner" VARCHAR(64)');

    const created = await runCli(['dev', '--name', 'add_owner', '--json', ...args], env);
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout);
    expect(result).toMatchObject({ action: 'created-and-applied', warnings: [] });
    // The public shape (packages/cli/schemas/dev.schema.json), with the migrate run inside it.
    expect(validateJson('dev', result)).toEqual([]);
    expect(result.migration).toMatch(/^\d{14}_add_owner$/);
    expect(readFileSync(join(project.migrations, result.migration, 'migration.sql'), 'utf8').trim()).toBe(expectedSql.trim());
    expect(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'settings' AND column_name = 'owner'`)).toEqual([{ column_name: 'owner' }]);
    expect((await runCli(['status', ...args], env)).code).toBe(0);
    expect((await runCli(['diff', '--exit-code', ...args], env)).code).toBe(0);
    expect(await leakedShadows(shadowsBefore)).toEqual([]);
  });

  it('dev on a drifted database explains and exits non-zero; a failing dev leaves no shadow database either', async () => {
    const db = await newDatabase('digilog_dev_drift');
    const project = projectCopy();
    const env = { DATABASE_URL: db.url };
    const shadowsBefore = await shadowDatabases();
    expect((await runCli(['migrate', '--schema', project.schema], env)).code).toBe(0);
    await db.query('ALTER TABLE settings ADD COLUMN hand_made int');
    addOwner(project.schema);
    const drifted = await runCli(['dev', '--name', 'add_owner', '--schema', project.schema], env);
    expect(drifted.code).toBe(EXIT_CODES['history-mismatch']);
    expect(drifted.stderr).toMatch(/does not match the migration history/);
    expect(drifted.stderr).toContain('digilog-db reset');
    expect(readdirSync(project.migrations).some((n) => n.endsWith('_add_owner'))).toBe(false);
    // diff --from-database shows what the live database has that the schema does not.
    const live = await runCli(['diff', '--from-database', '--exit-code', '--json', '--schema', project.schema], env);
    expect(live.code).toBe(EXIT_CODES.pending);
    const liveSql = JSON.parse(live.stdout).sql as string;
    expect(liveSql).toContain('DROP COLUMN "hand_made"');
    expect(liveSql).toContain('ADD COLUMN     "owner" VARCHAR(64)');
    // A broken migration in the history makes the shadow database fail mid-command.
    const broken = join(project.migrations, '29990101000000_broken');
    cpSync(join(project.migrations, readdirSync(project.migrations).find((n) => n.endsWith('_init'))!), broken, { recursive: true });
    writeFileSync(join(broken, 'migration.sql'), 'SELECT * FROM no_such_table;\n');
    const failed = await runCli(['diff', '--schema', project.schema], env);
    expect(failed.code).not.toBe(0);
    expect(await leakedShadows(shadowsBefore)).toEqual([]);
  });

  it('push refuses to drop a column without --accept-data-loss and keeps the data', async () => {
    const db = await newDatabase('digilog_push');
    const project = projectCopy();
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['push', '--schema', project.schema], env)).code).toBe(0);
    await db.query(`INSERT INTO settings (id, key, value, description, updated_at) VALUES (gen_random_uuid(), 'keep.me', '1', 'precious', now())`);
    writeFileSync(project.schema, readFileSync(project.schema, 'utf8').replace(/\n\s*description\s+String\?\s+@db\.VarChar\(500\)/, ''));
    const refused = await runCli(['push', '--schema', project.schema], env);
    expect(refused.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(refused.stderr).toMatch(/lose data/);
    expect(await db.query(`SELECT description FROM settings WHERE key = 'keep.me'`)).toEqual([{ description: 'precious' }]);
    const accepted = await runCli(['push', '--accept-data-loss', '--schema', project.schema], env);
    expect(accepted.code).toBe(0);
    expect(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'settings' AND column_name = 'description'`)).toEqual([]);
  });

  it('dev and push refuse to run with NODE_ENV=production', async () => {
    const project = projectCopy();
    for (const command of [['dev', '--name', 'x'], ['push']]) {
      const run = await runCli([...command, '--schema', project.schema], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', NODE_ENV: 'production' });
      expect(run.code).toBe(EXIT_CODES['production-guard']);
    }
    expect(existsSync(join(project.migrations, 'migration_lock.toml'))).toBe(true);
  });

  it('pull introspects the migrated database into the schema: every model, then nothing to change; an empty database is P4001', async () => {
    const db = await newDatabase('digilog_pull');
    const project = projectCopy();
    const env = { DATABASE_URL: db.url };
    const args = ['--schema', project.schema];
    const empty = await runCli(['pull', '--json', ...args], env);
    expect(empty.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(empty.stdout).error.prismaCode).toBe('P4001');

    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    const printed = await runCli(['pull', '--print', ...args], env);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^model Setting \{$/m);
    expect(readFileSync(project.schema, 'utf8')).not.toBe(printed.stdout);

    const pulled = JSON.parse((await runCli(['pull', '--json', ...args], env)).stdout);
    expect(pulled).toMatchObject({ ok: true, models: ['Setting', 'SettingChange', 'ApiKey'], written: true });
    expect(readFileSync(project.schema, 'utf8')).toBe(pulled.schema);
    // The introspected schema describes the database exactly: no migration is missing.
    expect((await runCli(['diff', '--from-database', '--exit-code', ...args], env)).code).toBe(0);
    expect(JSON.parse((await runCli(['pull', '--json', ...args], env)).stdout)).toMatchObject({ changed: false, written: false });
  });
});
