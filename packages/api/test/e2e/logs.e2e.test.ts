/**
 * Structured logs of a real run: `LOG_FORMAT=json digilog-db migrate` waiting for the lock,
 * applying one migration and failing on the next; a status against an unreachable server;
 * then the API booting, applying, noticing a failed migration and losing its database.
 * Every line must parse as JSON, carry the expected events, and never contain the password
 * of DATABASE_URL, raw or percent-encoded.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { runCli } from '../../../cli/test/support/cli.js';
import { PROJECT_MIGRATIONS, writeMigrations } from '../../../cli/test/support/migrations.js';
import { readMigrations } from '@digilog/db';
import { createKey } from '../support/api-keys.js';
import { jsonLines } from '../support/json-lines.js';
import { startServer, waitFor } from '../support/server.js';

const createDatabase = testDatabases();
const PASSWORD = 'L0g:s3cr@t-Xq9';
const ENCODED = encodeURIComponent(PASSWORD);

/** The test database's URL with a password (the server trusts local connections, so any password works). */
function withPassword(url: string): string {
  const u = new URL(url);
  u.password = ENCODED;
  return u.toString();
}

function expectNoPassword(text: string): void {
  expect(text).not.toContain(PASSWORD);
  expect(text).not.toContain(ENCODED);
  expect(text).not.toContain('s3cr@t');
}

const LOCK_KEY = 72707369;

describe('JSON logs (LOG_FORMAT=json) of the CLI', () => {
  it('migrate: lock wait, started/finished with duration and classification, failed with its classification; no password', async () => {
    const db = await createDatabase('digilog_logs_cli');
    const url = withPassword(db.url);
    const dir = writeMigrations({
      '20240101000000_create': 'CREATE TABLE accounts (id int PRIMARY KEY);',
      '20240102000000_broken': 'ALTER TABLE accounts ADD COLUMN plan text NOT NULL;\nSELECT * FROM no_such_table;',
    });
    // Another runner holds the migration lock for a moment.
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other-runner' });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    const run = runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: url, LOG_FORMAT: 'json' });
    // Release only once the runner is connected and has been refused for a while (a loaded machine starts node slowly).
    await waitFor(async () => {
      const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'digilog-db pid=%'");
      return rows[0]!.n > 0;
    }, 20_000, 20);
    await new Promise((r) => setTimeout(r, 400));
    await holder.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
    await holder.end();
    const { code, stdout, stderr } = await run;

    expect(code).toBe(6);
    expect(stdout).toBe('');
    const lines = jsonLines(stderr);
    for (const line of lines) expect(line).toMatchObject({ service: 'digilog-db', level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
    expect(lines.map((l) => l.event)).toEqual([
      'migration.lock_wait',
      'migration.lock_acquired',
      'migration.started',
      'migration.finished',
      'migration.started',
      'migration.failed',
      'command.failed',
    ]);
    const [wait, acquired, , finished, , failed, command] = lines;
    expect(wait).toMatchObject({ level: 'warn', holderApplication: 'other-runner', holderPid: expect.any(Number) });
    expect(acquired!.waitedMs).toBeGreaterThanOrEqual(300);
    expect(finished).toMatchObject({ migration: '20240101000000_create', durationMs: expect.any(Number), mode: 'transactional', classification: { level: 'safe', rules: [] } });
    expect(failed).toMatchObject({
      level: 'error',
      migration: '20240102000000_broken',
      durationMs: expect.any(Number),
      kind: 'migration-sql',
      exitCode: 6,
      prismaCode: 'P3018',
      sqlState: '42P01',
      // migrate's own classification, with the live context: "accounts" is created by the
      // migration before it in the same run, so adding a required column to it is Safe.
      classification: { level: 'safe', rules: [] },
    });
    expect(command).toMatchObject({ level: 'error', kind: 'migration-sql', exitCode: 6 });
    expectNoPassword(stdout + stderr);
  });

  it('a connectivity error is one database.unreachable line, without the password', async () => {
    const url = withPassword('postgresql://postgres@127.0.0.1:1/digilog_nowhere');
    const { code, stdout, stderr } = await runCli(['status'], { DATABASE_URL: url, LOG_FORMAT: 'json', DIGILOG_CONNECT_RETRIES: '0' });
    expect(code).toBe(8);
    expect(jsonLines(stderr)).toEqual([expect.objectContaining({ level: 'error', event: 'database.unreachable', exitCode: 8, prismaCode: 'P1001' })]);
    expectNoPassword(stdout + stderr);
  });

  it('an invalid LOG_FORMAT is a configuration error naming the variable', async () => {
    const { code, stderr } = await runCli(['status'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x', LOG_FORMAT: 'xml' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Error: LOG_FORMAT must be pretty or json/);
  });
});

describe('JSON logs of the API', () => {
  it('boot migration events, health transitions, connection errors on a dropped database; every line JSON, no password', async () => {
    const db = await createDatabase('digilog_logs_api');
    // The project's own migrations (the settings routes need its tables).
    const server = await startServer({ DATABASE_URL: withPassword(db.url), AUTO_MIGRATE: 'true' });
    try {
      const boot = jsonLines(server.output());
      const migrations = readMigrations(PROJECT_MIGRATIONS).map((m) => m.name);
      expect(boot.map((l) => l.event ?? l.msg)).toEqual([
        'migration.lock_acquired',
        ...migrations.flatMap(() => ['migration.started', 'migration.finished']),
        'boot.migrations',
        'health.changed',
        'listening',
      ]);
      expect(boot.find((l) => l.event === 'migration.finished')).toMatchObject({ service: 'digilog-api', migration: migrations[0], durationMs: expect.any(Number), classification: { level: expect.any(String) } });
      expect(boot.find((l) => l.event === 'health.changed')).toMatchObject({ component: 'database', from: null, to: 'upToDate', status: 'healthy' });

      // A failed migration appears in the table (another runner died): health turns, and the log says so.
      await db.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ('00000000-0000-4000-8000-000000000001', 'x', '20240102000000_died', now(), 0)`);
      await waitFor(async () => server.output().includes('"to":"failed"'), 10_000);
      // Open a pooled connection, then take the database away under it.
      const reader = await createKey(withPassword(db.url), ['settings:read']);
      expect((await fetch(`${server.url}/api/v1/settings`, { headers: reader.headers })).status).toBe(200);
      await db.drop();
      await waitFor(async () => server.output().includes('"to":"unreachable"') && server.output().includes('"event":"database.connection_error"'), 10_000);
      expect(await server.stop()).toBe(0);

      const lines = jsonLines(server.output());
      expect(lines.find((l) => l.event === 'health.changed' && l.to === 'failed')).toMatchObject({ level: 'error', from: 'upToDate', status: 'unhealthy' });
      // A check cut by DROP DATABASE … WITH (FORCE) is "unreachable" at once; "error" stays allowed for a
      // check that fails otherwise first (seen as "error" in 3 of 5 runs on a loaded machine before the cut counted as unreachable).
      expect(lines.find((l) => l.event === 'health.changed' && l.to === 'unreachable')).toMatchObject({ level: 'error', from: expect.stringMatching(/^(failed|error)$/) });
      expect(lines.find((l) => l.event === 'database.connection_error')).toMatchObject({ level: 'error', pool: 'primary' });
      expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });
      expectNoPassword(server.output());
      expect(server.output()).not.toContain(reader.key.split('.')[1]!);
    } finally {
      if (server.child.exitCode === null) await server.stop('SIGKILL');
    }
  });
});
