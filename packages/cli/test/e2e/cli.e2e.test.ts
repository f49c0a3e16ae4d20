/**
 * The built `digilog-db` binary, run as a user or CI would: exit codes from
 * the documented table, one clear line per error, no password anywhere.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { BIN, runCli, type CliRun } from '../support/cli.js';
import { createTestDatabase, passwordRole, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { schemaDump } from '../support/psql.js';
import { recordReliability } from '../support/reliability.js';

const PASSWORD = 'Sup3r:s3cr#t/pw%';
const ROLE = `digilog_e2e_${process.pid}`;
const databases: TestDatabase[] = [];
/** A password-protected role, so every output can be searched for the password. */
const role = passwordRole(ROLE, PASSWORD, { createdb: true });
const withPassword = role.urlFor;

function expectNoPassword(run: CliRun): void {
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'Sup3r']) {
    expect(run.stdout).not.toContain(form);
    expect(run.stderr).not.toContain(form);
  }
}

await role.create();
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  await role.drop();
});

async function ownedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_e2e');
  await role.own(db);
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

  it('[row 22] resolve on an unknown or not-failed migration fails clearly and changes nothing', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'SELECT 1;\n', '20240102000000_next': 'CREATE TABLE n (id int);\n' });
    const env = { DATABASE_URL: withPassword(db.name) };
    const args = ['--migrations-dir', dir];
    // Before any history exists: nothing is created.
    const early = await runCli(['resolve', '--rolled-back', 'nope', ...args, '--json'], env);
    expect(early.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(early.stdout)).toMatchObject({ ok: false, error: { prismaCode: 'P3011', exitCode: EXIT_CODES.usage } });
    expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS t`)).toEqual([{ t: null }]);

    // With one applied and one pending migration, every wrong request leaves table and schema as they were.
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    addMigration(dir, '20240103000000_pending', 'CREATE TABLE p (id int);\n');
    const snapshot = async () => [await db.query('SELECT * FROM _prisma_migrations ORDER BY id'), schemaDump(db.url)];
    const before = await snapshot();
    const wrong: Array<[string[], string, RegExp]> = [
      [['--rolled-back', 'nope'], 'P3011', /nope/],
      [['--applied', 'nope'], 'P3017', /nope/],
      [['--rolled-back', '20240101000000_init'], 'P3012', /20240101000000_init/],
      [['--applied', '20240101000000_init'], 'P3008', /20240101000000_init/],
      [['--rolled-back', '20240103000000_pending'], 'P3011', /20240103000000_pending/],
      [['--rolled-back', '../20240101000000_init'], 'P3011', /\.\.\/20240101000000_init/],
    ];
    for (const [flags, code, names] of wrong) {
      const run = await runCli(['resolve', ...flags, ...args], env);
      expect({ flags, code: run.code }).toEqual({ flags, code: EXIT_CODES.usage });
      expect(run.stderr.split('\n')[0]).toMatch(names);
      expect(run.stderr).toContain(code);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expectNoPassword(run);
    }
    const neither = await runCli(['resolve', '20240101000000_init', ...args], env);
    expect(neither.code).toBe(EXIT_CODES.usage);
    expect(await snapshot()).toEqual(before);
    recordReliability({
      row: 22,
      scenario: 'resolve on unknown, applied, pending and path-like migration names',
      fault: `${wrong.length + 2} wrong resolve requests`,
      result: 'each exit 2 with one line naming the migration and the Prisma code; _prisma_migrations and pg_dump identical before and after',
      runners: 1,
      badInputs: wrong.length + 2,
    });
  });

  it('[row 23] reset under NODE_ENV=production without --force is refused before any DDL', async () => {
    const db = await ownedDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const env = { DATABASE_URL: withPassword(db.name) };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    await db.query('INSERT INTO a VALUES (42)');
    // Every DDL command in this database, whoever runs it, is logged outside the schema reset would drop.
    await db.query(`CREATE SCHEMA ddl_audit;
      CREATE TABLE ddl_audit.log (tag text, at timestamptz DEFAULT clock_timestamp());
      CREATE FUNCTION ddl_audit.record() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        BEGIN INSERT INTO ddl_audit.log (tag) VALUES (tg_tag); END $$;
      CREATE EVENT TRIGGER ddl_audit ON ddl_command_start EXECUTE FUNCTION ddl_audit.record();`);
    const ddlCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ddl_audit.log'))[0]!.n;
    const dumpBefore = schemaDump(db.url);
    const production = { ...env, NODE_ENV: 'production' };
    const attempts = [
      ['reset', '--yes', '--migrations-dir', dir],
      ['reset', '--migrations-dir', dir],
      ['reset', '--yes', '--no-seed', '--json', '--migrations-dir', dir],
    ];
    for (const args of attempts) {
      const refused = await runCli(args, production);
      expect({ args, code: refused.code }).toEqual({ args, code: EXIT_CODES['production-guard'] });
      expect(`${refused.stdout}${refused.stderr}`).toContain('--force');
    }
    expect(await ddlCount()).toBe(0);
    expect(schemaDump(db.url)).toBe(dumpBefore);
    expect(await db.query('SELECT id FROM a')).toEqual([{ id: 42 }]);
    const noConfirm = await runCli(['reset', '--migrations-dir', dir], env);
    expect(noConfirm.code).toBe(EXIT_CODES.usage);
    expect(await db.query('SELECT id FROM a')).toEqual([{ id: 42 }]);
    expect(await ddlCount()).toBe(0);
    // The audit sees a reset that is allowed: its silence above is evidence, not blindness.
    const forced = await runCli(['reset', '--force', '--yes', '--migrations-dir', dir], production);
    expect(forced.code).toBe(0);
    expect(await db.query('SELECT id FROM a')).toEqual([]);
    expect(await ddlCount()).toBeGreaterThan(0);
    await db.query('DROP EVENT TRIGGER ddl_audit');
    recordReliability({
      row: 23,
      scenario: 'reset with NODE_ENV=production, non-interactive, without --force',
      fault: `${attempts.length} refused reset invocations (with and without --yes, --json) and 1 without confirmation`,
      result: 'exit 9 (2 without --yes outside production); 0 DDL commands seen by an event trigger, pg_dump and data identical; a forced reset is seen by the same trigger',
      runners: 1,
      badInputs: attempts.length + 1,
    });
  });

  it('migrate creates a missing database, as prisma migrate deploy does', async () => {
    const db = await createTestDatabase('digilog_e2e_new', { create: false });
    databases.push(db);
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM _prisma_migrations`)).toEqual([{ n: 1 }]);
  });

  it('a reader that closes the pipe early (`| head`) neither crashes the command nor stops a migration', async () => {
    /** Runs the CLI with stdout piped, closing the pipe as soon as the first bytes arrive. */
    const withEarlyClose = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.stdout.once('data', () => child.stdout.destroy());
        child.on('close', (code) => resolve({ code, stderr }));
      });
    // A long history ending in a Dangerous statement.
    const steps = Array.from({ length: 160 }, (_, i) => [`202401010${String(i).padStart(5, '0')}_step_${i}`, `CREATE TABLE t${i} (id int, v text);\nCREATE INDEX t${i}_v ON t${i} (v);\nALTER TABLE t${i} ADD COLUMN w text;\n`]);
    const history = writeMigrations(Object.fromEntries([...steps, ['20240102000000_drop_first', 'DROP TABLE t0;\n']]));

    // lint --json of a whole history prints far more than a pipe buffer holds.
    const whole = await runCli(['lint', '--json', history]);
    expect(whole.stdout.length).toBeGreaterThan(3 * 64 * 1024);
    const lint = await withEarlyClose(['lint', '--json', history]);
    expect(lint.stderr).not.toMatch(/EPIPE|Unhandled|at /);
    // Its own exit code (4: the history has Dangerous statements), as when the whole output is read.
    expect(lint.code).toBe(whole.code);
    expect(lint.code).toBe(EXIT_CODES['dangerous-blocked']);

    const db = await createTestDatabase('digilog_e2e_pipe');
    databases.push(db);
    const migrate = await withEarlyClose(['migrate', '--migrations-dir', history], { DATABASE_URL: db.url });
    expect(migrate.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(migrate.code).toBe(0);
    const [rows] = await db.query<{ total: number; finished: number }>(`SELECT count(*)::int AS total, count(finished_at)::int AS finished FROM _prisma_migrations`);
    expect(rows).toEqual({ total: 161, finished: 161 });
  });

  it('resolve without --applied or --rolled-back is a usage error before anything starts (no embedded database)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'digilog-resolve-usage-'));
    const run = await runCli(['resolve'], {}, cwd);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain('resolve needs exactly one of --applied <name> or --rolled-back <name>');
    expect(run.stdout + run.stderr).not.toContain('embedded');
    expect(existsSync(join(cwd, '.digilog'))).toBe(false);
  });

  it('--help shows examples and the exit codes', async () => {
    const run = await runCli(['migrate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Examples:');
    const top = await runCli(['--help']);
    expect(top.stdout).toContain('Exit codes:');
  });
});
