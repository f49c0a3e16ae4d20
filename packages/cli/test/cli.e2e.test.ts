/**
 * The built `digilog-db` binary, run as a user or CI would: exit codes from
 * the documented table, one clear line per error, no password anywhere.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { runCli, type CliRun } from './support/cli.js';
import { adminQuery, createTestDatabase, urlFor, type TestDatabase } from './support/database.js';
import { writeMigrations } from './support/migrations.js';

const PASSWORD = 'Sup3r:s3cr#t/pw%';
const ROLE = `digilog_e2e_${process.pid}`;
const databases: TestDatabase[] = [];

/** A URL with a password-protected role, so every output can be searched for the password. */
function withPassword(database: string): string {
  const url = new URL(urlFor(database));
  url.username = ROLE;
  url.password = encodeURIComponent(PASSWORD);
  return url.toString();
}

function expectNoPassword(run: CliRun): void {
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'Sup3r']) {
    expect(run.stdout).not.toContain(form);
    expect(run.stderr).not.toContain(form);
  }
}

await adminQuery(`DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN
    CREATE ROLE ${ROLE} LOGIN CREATEDB PASSWORD '${PASSWORD.replace(/'/g, "''")}';
  END IF; END $$`);
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
});

async function ownedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_e2e');
  await adminQuery(`ALTER DATABASE "${db.name}" OWNER TO ${ROLE}`);
  await db.query(`ALTER SCHEMA public OWNER TO ${ROLE}`);
  databases.push(db);
  return db;
}

describe('digilog-db end to end', () => {
  it('migrate → status → migrate: exit codes, JSON on stdout only, no password', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const env = { DATABASE_URL: withPassword(db.name) };
    const args = ['--migrations-dir', dir];

    const pending = await runCli(['status', ...args], env);
    expect(pending.code).toBe(EXIT_CODES.pending);
    expect(pending.stdout).toContain('20240101000000_init');

    const applied = await runCli(['migrate', '--json', ...args], env);
    expect(applied.code).toBe(0);
    const doc = JSON.parse(applied.stdout);
    expect(doc).toMatchObject({ ok: true, action: 'applied', applied: [{ name: '20240101000000_init', mode: 'transactional' }] });

    const upToDate = await runCli(['status', '--json', ...args], env);
    expect(upToDate.code).toBe(0);
    expect(JSON.parse(upToDate.stdout)).toMatchObject({ ok: true, state: 'upToDate', summary: 'Database is up to date!' });
    for (const run of [pending, applied, upToDate]) expectNoPassword(run);
  });

  it('status tells pending (3), failed (6), edited (7) and unreachable (8) apart', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n', '20240102000000_bad': 'SELECT 1/0;\n' });
    const env = { DATABASE_URL: withPassword(db.name) };
    const failed = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(failed.code).toBe(EXIT_CODES['migration-sql']);
    expect(failed.stderr).toContain('P3018');
    expect(failed.stderr).toContain('resolve --rolled-back "20240102000000_bad"');
    const status = await runCli(['status', '--migrations-dir', dir], env);
    expect(status.code).toBe(EXIT_CODES['failed-migration']);
    expect(status.stdout).toContain('20240102000000_bad');
    expect(status.stdout).toContain('22012');

    const again = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(again.code).toBe(EXIT_CODES['failed-migration']);
    expect(again.stderr).toContain('P3009');

    writeFileSync(join(dir, '20240101000000_init', 'migration.sql'), 'CREATE TABLE a (id bigint);\n');
    await runCli(['resolve', '--rolled-back', '20240102000000_bad', '--migrations-dir', dir], env);
    const edited = await runCli(['status', '--migrations-dir', dir], env);
    expect(edited.code).toBe(EXIT_CODES['history-mismatch']);

    const unreachable = await runCli(['status', '--migrations-dir', dir], {
      DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/${db.name}`,
      DIGILOG_CONNECT_RETRIES: '2',
    });
    expect(unreachable.code).toBe(EXIT_CODES.unreachable);
    expect(unreachable.stderr).toMatch(/Can't reach database server at 127\.0\.0\.1:1/);
    expect(unreachable.durationMs).toBeLessThan(10_000);
    for (const run of [failed, status, again, edited, unreachable]) expectNoPassword(run);
  });

  it.each([
    ['malformed DATABASE_URL', { DATABASE_URL: `postgresql//${ROLE}:${PASSWORD}@nowhere` }, ['status'], EXIT_CODES.config, /^Error: DATABASE_URL is not a valid PostgreSQL connection string/],
    ['AUTO_MIGRATE=maybe', { AUTO_MIGRATE: 'maybe' }, ['status'], EXIT_CODES.config, /^Error: AUTO_MIGRATE must be one of/],
    ['missing migrations folder', {}, ['status', '--migrations-dir', '/nonexistent/migrations'], EXIT_CODES.usage, /^Error: Migrations folder not found/],
    ['unknown command option', {}, ['migrate', '--no-such-flag'], EXIT_CODES.usage, /unknown option/],
  ])('%s → one clear line and its exit code', async (_label, env, args, code, pattern) => {
    const run = await runCli(args, { DATABASE_URL: withPassword('postgres'), ...env });
    expect(run.code).toBe(code);
    expect(run.stderr.split('\n')[0]).toMatch(pattern);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(run.stdout).toBe('');
    expectNoPassword(run);
  });

  it('provider mismatch in migration_lock.toml is refused (P3019)', async () => {
    const dir = writeMigrations({ '20240101000000_init': 'SELECT 1;\n' }, { lockFile: 'provider = "mysql"\n' });
    const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: withPassword('postgres') });
    expect(run.code).toBe(EXIT_CODES.config);
    expect(run.stderr).toContain('P3019');
    expect(run.stderr).toContain('"mysql"');
  });

  it('resolve with an unknown name fails clearly and writes nothing', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'SELECT 1;\n' });
    const run = await runCli(['resolve', '--rolled-back', 'nope', '--migrations-dir', dir, '--json'], { DATABASE_URL: withPassword(db.name) });
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { prismaCode: 'P3011', exitCode: EXIT_CODES.usage } });
    expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS t`)).toEqual([{ t: null }]);
  });

  it('reset under NODE_ENV=production without --force is refused before any DDL', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const env = { DATABASE_URL: withPassword(db.name) };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    await db.query('INSERT INTO a VALUES (42)');
    const refused = await runCli(['reset', '--yes', '--migrations-dir', dir], { ...env, NODE_ENV: 'production' });
    expect(refused.code).toBe(EXIT_CODES['production-guard']);
    expect(refused.stderr).toContain('--force');
    expect(await db.query('SELECT id FROM a')).toEqual([{ id: 42 }]);
    const noConfirm = await runCli(['reset', '--migrations-dir', dir], env);
    expect(noConfirm.code).toBe(EXIT_CODES.usage);
    expect(await db.query('SELECT id FROM a')).toEqual([{ id: 42 }]);
    const forced = await runCli(['reset', '--force', '--yes', '--migrations-dir', dir], { ...env, NODE_ENV: 'production' });
    expect(forced.code).toBe(0);
    expect(await db.query('SELECT id FROM a')).toEqual([]);
  });

  it('migrate creates a missing database, as prisma migrate deploy does', async () => {
    const db = await createTestDatabase('digilog_e2e_new', { create: false });
    databases.push(db);
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM _prisma_migrations`)).toEqual([{ n: 1 }]);
  });

  it('--help shows examples and the exit codes', async () => {
    const run = await runCli(['migrate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Examples:');
    const top = await runCli(['--help']);
    expect(top.stdout).toContain('Exit codes:');
  });
});
