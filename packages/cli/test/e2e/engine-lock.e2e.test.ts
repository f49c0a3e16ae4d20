/**
 * `dev`, `diff`, `push` and `reset` while `migrate` runs: each waits for Prisma's migration
 * lock before it reads the database, so a migration in progress is never diagnosed as failed
 * (and `reset`, which would wipe the database, is never advised because of one).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, type StartedCli } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, REPO_ROOT } from '../support/migrations.js';

const newDatabase = testDatabases();
const SLOW = '29990101000000_slow';

/** A copy of the project's prisma/ folder, migrated, plus a pending migration that sleeps before it creates (and fills) `slow_t`. */
async function migratedProject(db: TestDatabase): Promise<{ schema: string; migrations: string; env: Record<string, string> }> {
  const root = mkdtempSync(join(tmpdir(), 'digilog-lock-'));
  cpSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), join(root, 'prisma', 'schema.prisma'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  const project = { schema: join(root, 'prisma', 'schema.prisma'), migrations: join(root, 'prisma', 'migrations'), env: { DATABASE_URL: db.url } };
  expect((await runCli(['migrate', '--schema', project.schema], project.env)).code).toBe(0);
  addMigration(project.migrations, SLOW, 'SELECT pg_sleep(4);\nCREATE TABLE slow_t (id int);\nINSERT INTO slow_t VALUES (1);\n');
  return project;
}

/** Starts `migrate` and resolves once its slow migration is running (its row is unfinished, it holds the lock). */
async function startSlowMigrate(db: TestDatabase, schema: string, env: Record<string, string>): Promise<StartedCli> {
  const started = startCli(['migrate', '--schema', schema], env);
  for (let i = 0; i < 500; i++) {
    const running = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()`);
    if (running.length > 0) return started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`migrate never started its slow migration: ${started.stderr()}`);
}

const addOwner = (schema: string) =>
  writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?      @db.VarChar(64)'));

describe('engine commands wait for a running migration', () => {
  it('dev --create-only waits for migrate, then creates the migration; it never calls the running migration failed', async () => {
    const db = await newDatabase('digilog_lock_dev');
    const project = await migratedProject(db);
    addOwner(project.schema);
    const migrating = await startSlowMigrate(db, project.schema, project.env);
    const dev = await runCli(['dev', '--name', 'add_owner', '--create-only', '--schema', project.schema], project.env);
    expect((await migrating.done).code).toBe(0);
    expect(dev.stderr).not.toContain('reset');
    expect(dev.code, dev.stderr + dev.stdout).toBe(0);
    expect(dev.stderr).toContain('Waiting for the migration lock held by process');
    expect(readdirSync(project.migrations).some((n) => n.endsWith('_add_owner'))).toBe(true);
    // The new folder sorts before the later-dated SLOW one, so the engine cannot replay the history without it: the
    // migration is still written, its down.sql is not, and dev says so (down-sql retries once the history replays).
    expect(dev.stdout).toContain('no down.sql');
    // The history it compared against included the migration that was running.
    expect(await db.query(`SELECT migration_name FROM _prisma_migrations WHERE migration_name = '${SLOW}' AND finished_at IS NOT NULL`)).toHaveLength(1);
  }, 60_000);

  it('dev that gives up waiting says the lock is held (exit 5) and does not advise reset', async () => {
    const db = await newDatabase('digilog_lock_dev_wait');
    const project = await migratedProject(db);
    addOwner(project.schema);
    const migrating = await startSlowMigrate(db, project.schema, project.env);
    const dev = await runCli(['dev', '--name', 'add_owner', '--schema', project.schema], { ...project.env, DIGILOG_LOCK_WAIT_MS: '300' });
    expect(dev.code).toBe(EXIT_CODES['lock-timeout']);
    expect(dev.stderr).toContain('migration lock');
    expect(dev.stderr).not.toContain('reset');
    expect((await migrating.done).code).toBe(0);
    expect(readdirSync(project.migrations).some((n) => n.endsWith('_add_owner'))).toBe(false);
  }, 60_000);

  it('diff --from-database waits for migrate and sees what it created', async () => {
    const db = await newDatabase('digilog_lock_diff');
    const project = await migratedProject(db);
    const migrating = await startSlowMigrate(db, project.schema, project.env);
    const diff = await runCli(['diff', '--from-database', '--exit-code', '--json', '--schema', project.schema], project.env);
    expect((await migrating.done).code).toBe(0);
    expect(diff.code).toBe(EXIT_CODES.pending);
    expect(JSON.parse(diff.stdout).sql).toContain('DROP TABLE "slow_t"');
  }, 60_000);

  it('push waits for migrate, then refuses to drop the table it filled', async () => {
    const db = await newDatabase('digilog_lock_push');
    const project = await migratedProject(db);
    const migrating = await startSlowMigrate(db, project.schema, project.env);
    const push = await runCli(['push', '--schema', project.schema], project.env);
    expect((await migrating.done).code).toBe(0);
    expect(push.code).toBe(EXIT_CODES['dangerous-blocked']);
    expect(push.stderr).toContain('slow_t');
    expect(await db.query('SELECT id FROM slow_t')).toEqual([{ id: 1 }]);
  }, 60_000);

  it('reset --yes waits for migrate, then resets to the full history', async () => {
    const db = await newDatabase('digilog_lock_reset');
    const project = await migratedProject(db);
    const migrating = await startSlowMigrate(db, project.schema, project.env);
    const reset = await runCli(['reset', '--yes', '--no-seed', '--schema', project.schema], project.env);
    expect((await migrating.done).code).toBe(0);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toContain('Waiting for the migration lock held by process');
    const rows = await db.query<{ migration_name: string; finished: boolean }>(`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY started_at`);
    expect(rows.every((r) => r.finished)).toBe(true);
    expect(rows.filter((r) => r.migration_name === SLOW)).toHaveLength(1);
    // Reset dropped what migrate had finished and re-ran every migration once, the slow one included.
    expect(await db.query('SELECT id FROM slow_t')).toEqual([{ id: 1 }]);
  }, 60_000);
});
