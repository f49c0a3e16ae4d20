/**
 * The DigiLog Settings API, started as a real process against real PostgreSQL:
 * boot-time migration, health endpoints, settings CRUD and bad input, no
 * password anywhere, graceful shutdown.
 */
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, passwordRole, type TestDatabase } from '../../../cli/test/support/database.js';
import { startServer, waitFor, type RunningServer } from '../support/server.js';

const PASSWORD = 'Api:P4ss#w%rd';
const ROLE = `digilog_api_${process.pid}`;
const role = passwordRole(ROLE, PASSWORD);
const databases: TestDatabase[] = [];
const servers: RunningServer[] = [];

await role.create();
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await Promise.all(databases.map((db) => db.drop()));
  await role.drop();
});

async function ownedDatabase(): Promise<{ db: TestDatabase; url: string }> {
  const db = await createTestDatabase('digilog_api');
  databases.push(db);
  return { db, url: await role.own(db) };
}

async function boot(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

async function getJson(url: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

function expectNoSecrets(text: string): void {
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'P4ss', 'postgresql://', ROLE]) expect(text).not.toContain(form);
}

function expectSeedShape(body: any): void {
  expect(Object.keys(body).sort()).toEqual(['database', 'memory', 'status', 'timestamp', 'uptime']);
  expect(typeof body.status).toBe('string');
  expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  expect(typeof body.database.status).toBe('string');
  expect(typeof body.database.message).toBe('string');
  expect(typeof body.database.details.migrationStatus).toBe('string');
  expect(typeof body.uptime).toBe('number');
  for (const key of ['rss', 'heapTotal', 'heapUsed', 'external']) expect(typeof body.memory[key]).toBe('number');
}

describe('boot', () => {
  it('AUTO_MIGRATE=true on an empty database: migrations applied, health 200 with the seed shape', async () => {
    const { db, url } = await ownedDatabase();
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    expect(rows[0]!.n).toBeGreaterThan(0);
    for (const path of ['/api/v1/health', '/api/v1/health/db']) {
      const res = await getJson(server.url + path);
      expect(res.status).toBe(200);
      expectSeedShape(res.body);
      expect(res.body).toMatchObject({
        status: 'healthy',
        database: { status: 'healthy', message: 'Database connection and migrations are healthy', details: { migrationStatus: 'Database is up to date!' } },
      });
      expectNoSecrets(res.text);
    }
    expectNoSecrets(server.output());
  });

  it('auto-migration off with a pending migration: not applied, health 503 naming it', async () => {
    const { db, url } = await ownedDatabase();
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'false' });
    expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS t`)).toEqual([{ t: null }]);
    const res = await getJson(`${server.url}/api/v1/health/db`);
    expect(res.status).toBe(503);
    expectSeedShape(res.body);
    expect(res.body.database.status).toBe('unhealthy');
    expect(res.body.database.details.pending.length).toBeGreaterThan(0);
    expect(res.body.database.details.boot).toBe('skipped');
  });

  it('a failed migration row appears while running: /health/db turns 503 within 5 s', async () => {
    const { db, url } = await ownedDatabase();
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    expect((await getJson(`${server.url}/api/v1/health/db`)).status).toBe(200);
    await db.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, applied_steps_count)
      VALUES ('00000000-0000-4000-8000-000000000001', 'x', '29990101000000_hotfix', 'boom', 0)`);
    // waitFor fails the test when the 5 s are up.
    await waitFor(async () => (await getJson(`${server.url}/api/v1/health/db`)).status === 503, 5_000);
    const res = await getJson(`${server.url}/api/v1/health/db`);
    expect(res.body.database.details.failed).toEqual(['29990101000000_hotfix']);
    expectNoSecrets(res.text);
  });

  it('NODE_ENV=production with a broken migration history: one clear error, non-zero exit', async () => {
    const { db, url } = await ownedDatabase();
    await db.query('CREATE TABLE legacy (id int)');
    const started = startServer({ DATABASE_URL: url, NODE_ENV: 'production' });
    const error = (await started.then(
      () => undefined,
      (e: unknown) => e,
    )) as { exitCode: number; output: string };
    expect(error.exitCode).toBe(10);
    expect(error.output).toContain('P3005');
    expectNoSecrets(error.output);
  });

  it('a bad configuration value stops the server with one line naming the variable', async () => {
    const error = (await startServer({ DATABASE_URL: 'postgresql://u:hunter22@127.0.0.1/x', AUTO_MIGRATE: 'maybe' }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { exitCode: number; output: string };
    expect(error.exitCode).toBe(2);
    // One JSON log line, like everything the API writes.
    const lines = error.output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', event: 'boot.failed', msg: expect.stringMatching(/^Configuration error: AUTO_MIGRATE/) });
    expect(error.output).not.toContain('hunter22');
  });
});

describe('settings', () => {
  it('CRUD round trip, with every bad input rejected and nothing written', async () => {
    const { db, url } = await ownedDatabase();
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    const base = `${server.url}/api/v1/settings`;
    const put = (key: string, body: string, contentType = 'application/json') =>
      fetch(`${base}/${key}`, { method: 'PUT', headers: { 'content-type': contentType }, body });

    const created = await put('logging.retention_days', JSON.stringify({ value: 30, description: 'Days to keep logs' }));
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key: 'logging.retention_days', value: 30, version: 1, scope: 'GLOBAL' });
    const updated = await put('logging.retention_days', JSON.stringify({ value: { days: 45 } }));
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ value: { days: 45 }, version: 2, description: 'Days to keep logs' });
    expect((await getJson(`${base}/logging.retention_days`)).body.value).toEqual({ days: 45 });
    await put('alerts.email', JSON.stringify({ value: 'ops@example.com' }));
    const page1 = await getJson(`${base}?limit=1`);
    expect(page1.body.items.map((s: any) => s.key)).toEqual(['alerts.email']);
    const page2 = await getJson(`${base}?limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((s: any) => s.key)).toEqual(['logging.retention_days']);
    expect(page2.body.nextCursor).toBeNull();

    const before = await db.query('SELECT key, value, version FROM settings ORDER BY key');
    const bad: Array<[string, Promise<Response>, number]> = [
      ['invalid key', put('Bad Key!', JSON.stringify({ value: 1 })), 400],
      ['path traversal key', put('..%2F..%2Fetc%2Fpasswd', JSON.stringify({ value: 1 })), 400],
      ['oversized value', put('big.value', JSON.stringify({ value: 'x'.repeat(20_000) })), 413],
      ['oversized body', put('big.body', JSON.stringify({ value: 'x'.repeat(100_000) })), 413],
      ['non-JSON body', put('not.json', '{"value": 1'), 400],
      ['wrong content type', put('text.body', 'value=1', 'text/plain'), 415],
      ['unknown field', put('extra.field', JSON.stringify({ value: 1, admin: true })), 400],
      ['__proto__ key', put('proto.key', '{"value": 1, "__proto__": {"admin": true}}'), 400],
      ['missing value', put('no.value', JSON.stringify({ description: 'x' })), 400],
      ['deep JSON', put('deep.value', JSON.stringify({ value: JSON.parse('['.repeat(40) + ']'.repeat(40)) })), 400],
      ['SQL metacharacters in key', put("x'%3B%20DROP%20TABLE%20settings%3B--", JSON.stringify({ value: 1 })), 400],
    ];
    for (const [label, response, status] of bad) {
      const res = await response;
      const text = await res.text();
      expect({ label, status: res.status }).toEqual({ label, status });
      expect(JSON.parse(text).error.code).toEqual(expect.any(String));
      expect(text).not.toMatch(/at .*\.js|SELECT|prisma/i);
    }
    expect((await getJson(`${base}/does.not.exist`)).status).toBe(404);
    expect((await fetch(`${base}/does.not.exist`, { method: 'DELETE' })).status).toBe(404);
    expect(await db.query('SELECT key, value, version FROM settings ORDER BY key')).toEqual(before);

    expect((await fetch(`${base}/alerts.email`, { method: 'DELETE' })).status).toBe(204);
    expect((await getJson(`${base}/alerts.email`)).status).toBe(404);
    const audit = await db.query<{ setting_key: string }>('SELECT setting_key FROM setting_changes ORDER BY id');
    expect(audit.map((a) => a.setting_key)).toEqual(['logging.retention_days', 'logging.retention_days', 'alerts.email', 'alerts.email']);
    expect((await getJson(`${server.url}/api/v1/health`)).status).toBe(200);
    expectNoSecrets(server.output());
  });
});

describe('shutdown', () => {
  it('SIGTERM lets an in-flight request complete, then exits 0', async () => {
    const { url } = await ownedDatabase();
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    const body = JSON.stringify({ value: 'slow' });
    // Send the headers and half the body, signal, then finish: the request is in flight across SIGTERM.
    const response = new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/v1/settings/slow.request`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 300);
      }, 200);
    });
    expect(await response).toBe(201);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
  });
});
