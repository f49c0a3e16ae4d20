/**
 * The API as a process, as an orchestrator runs it: SIGTERM with a query
 * blocked on a lock exits within SHUTDOWN_TIMEOUT_MS (before, it waited for
 * the query: 19.6 s with a 2 s timeout); started from a folder outside the
 * project it still finds its migrations; and every line it writes, boot
 * failures included, is a JSON log line without the password.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../cli/src/errors.js';
import { readMigrations } from '@digilog/db';
import { testDatabases } from '../../../cli/test/support/database.js';
import { PROJECT_MIGRATIONS } from '../../../cli/test/support/migrations.js';
import { jsonLines } from '../support/json-lines.js';
import { startServer, waitFor, type RunningServer } from '../support/server.js';

const database = testDatabases();
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => (s.child.exitCode === null ? s.stop('SIGKILL') : undefined)));
});

async function boot(env: Record<string, string>, options?: { cwd?: string }): Promise<RunningServer> {
  const server = await startServer(env, options);
  servers.push(server);
  return server;
}

/** The server's exit, or "still running" once `ms` have passed. */
function exitWithin(server: RunningServer, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout;
  const late = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  return Promise.race([server.exited, late]).finally(() => clearTimeout(timer));
}

/** Starts the server expecting it to fail to boot; returns its exit code and output. */
async function failedBoot(env: Record<string, string>): Promise<{ exitCode: number; output: string }> {
  return (await startServer(env).then(
    (server) => {
      servers.push(server);
      throw new Error(`the server started:\n${server.output()}`);
    },
    (error: { exitCode?: number; output?: string }) => {
      if (error.exitCode === undefined) throw error;
      return error;
    },
  )) as { exitCode: number; output: string };
}

describe('shutdown bound', () => {
  it('SIGTERM while a PUT waits 30 s for a table lock: exits 11 after SHUTDOWN_TIMEOUT_MS (2 s), long before the lock is released; nothing written', async () => {
    const db = await database('digilog_shutdown_bound');
    const server = await boot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true', SHUTDOWN_TIMEOUT_MS: '2000' });
    const holder = new pg.Client({ connectionString: db.url, application_name: 'lock holder' });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE settings IN ACCESS EXCLUSIVE MODE');
      const put = fetch(`${server.url}/api/v1/settings/blocked.write`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":1}' }).then(
        (res) => res.status,
        () => 'connection closed',
      );
      await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).length > 0, 10_000);
      server.child.kill('SIGTERM');
      // The lock is held for 30 s: an exit that waited for the query would come after it.
      const code = await exitWithin(server, 15_000);
      expect(code, server.output()).toBe(EXIT_CODES.interrupted);
      expect(await put).toBe('connection closed');
      const lines = jsonLines(server.output());
      expect(lines.map((l) => l.event)).toContain('shutdown.timeout');
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
    // Its session ends once it wakes up to a closed socket; the write never commits.
    await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).length === 0, 10_000);
    expect(await db.query('SELECT count(*)::int AS n FROM settings')).toEqual([{ n: 0 }]);
  }, 120_000);
});

describe('working directory', () => {
  it('started from a folder outside the project, it finds its migrations beside its installation and serves', async () => {
    const db = await database('digilog_cwd');
    const elsewhere = mkdtempSync(join(tmpdir(), 'digilog-cwd-'));
    const server = await boot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' }, { cwd: elsewhere });
    const health = await fetch(`${server.url}/api/v1/health/db`);
    expect(health.status).toBe(200);
    const names = readMigrations(PROJECT_MIGRATIONS).map((m) => m.name);
    expect(await db.query('SELECT migration_name FROM _prisma_migrations ORDER BY migration_name')).toEqual(names.map((name) => ({ migration_name: name })));
    expect(await server.stop()).toBe(0);
  });
});

describe('JSON output only', () => {
  const PASSWORD = 'Js0n:l1nes#pw%';
  const forms = [PASSWORD, encodeURIComponent(PASSWORD), 'l1nes'];
  const expectJsonOnly = (output: string) => {
    const lines = jsonLines(output);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ level: expect.any(String), service: 'digilog-api', msg: expect.any(String) });
    for (const form of forms) expect(output).not.toContain(form);
    return lines;
  };

  it('a bad configuration value: exit 2, JSON lines naming the variable, no password', async () => {
    const { exitCode, output } = await failedBoot({ DATABASE_URL: `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1/x`, AUTO_MIGRATE: 'maybe' });
    expect(exitCode).toBe(2);
    const lines = expectJsonOnly(output);
    expect(lines.at(-1)).toMatchObject({ level: 'error', event: 'boot.failed', kind: 'config', msg: expect.stringMatching(/^Configuration error: AUTO_MIGRATE/) });
  });

  it('a malformed DATABASE_URL: exit 2, JSON lines, no password', async () => {
    const { exitCode, output } = await failedBoot({ DATABASE_URL: `mysql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1/x` });
    expect(exitCode).toBe(2);
    expectJsonOnly(output);
  });

  it('an unreachable DATABASE_URL in production: exit 8, JSON lines, no password', async () => {
    const { exitCode, output } = await failedBoot({ DATABASE_URL: `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/x`, NODE_ENV: 'production', DIGILOG_CONNECT_RETRIES: '0' });
    expect(exitCode).toBe(EXIT_CODES.unreachable);
    expectJsonOnly(output);
  });

  it('an unreachable DATABASE_URL outside production: starts degraded and stops on SIGTERM, JSON lines only', async () => {
    const server = await boot({ DATABASE_URL: `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/x`, DIGILOG_CONNECT_RETRIES: '0' });
    expect((await fetch(`${server.url}/api/v1/health/db`)).status).toBe(503);
    expect(await server.stop()).toBe(0);
    expectJsonOnly(server.output());
  });

  it('PORT already in use: exit 2 with one JSON line naming PORT (before: an uncaught stack trace)', async () => {
    const db = await database('digilog_port_busy');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const { exitCode, output } = await failedBoot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true', PORT: String(port) });
      expect(exitCode).toBe(2);
      const lines = expectJsonOnly(output);
      expect(lines.at(-1)).toMatchObject({ event: 'boot.failed', kind: 'config', msg: expect.stringContaining(`PORT ${port}`) });
    } finally {
      busy.close();
    }
  });
});
