/**
 * The API under hostile conditions (TEST-MATRIX rows 27 and 28): health
 * polled while a migration waits for the lock, runs and fails; settings
 * attacked with malformed and malicious requests sent byte for byte.
 */
import { cpSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../../../cli/test/support/cli.js';
import { createTestDatabase, passwordRole, type TestDatabase } from '../../../cli/test/support/database.js';
import { PROJECT_MIGRATIONS } from '../../../cli/test/support/migrations.js';
import { recordReliability } from '../../../cli/test/support/reliability.js';
import { startServer, waitFor, type RunningServer } from '../support/server.js';

const PASSWORD = 'H3alth:pr0be#s3cr%t';
const ROLE = `digilog_hostile_${process.pid}`;
const role = passwordRole(ROLE, PASSWORD);
const databases: TestDatabase[] = [];
const servers: RunningServer[] = [];

await role.create();
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  // The role owns a test database: drop the databases first, then the role.
  await Promise.all(databases.map((db) => db.drop()));
  await role.drop();
});

async function newDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase('digilog_hostile');
  databases.push(db);
  return db;
}

async function boot(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

interface RawResponse {
  status: number;
  text: string;
}

/** Sends exactly these bytes to exactly this path (fetch would normalise `../` and re-encode the body). */
function raw(server: RunningServer, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: body ? { ...headers, 'content-length': String(body.length) } : headers });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('[row 27] health while migrating', () => {
  it('[row 27] health while a runner waits for the lock, while a slow migration runs and after it fails: states and migration names only', async () => {
    const db = await newDatabase();
    const env = { DATABASE_URL: await role.own(db) };
    const server = await boot({ ...env, AUTO_MIGRATE: 'true', HEALTH_REFRESH_MS: '200' });

    // The next release's migrations: the project's, then a slow one, then a failing one (run by the CLI, as a deploy job would).
    const dir = join(mkdtempSync(join(tmpdir(), 'digilog-health-')), 'migrations');
    cpSync(PROJECT_MIGRATIONS, dir, { recursive: true });
    const slow = '29990101000000_slow_backfill';
    const broken = '29990102000000_broken';
    mkdirSync(join(dir, slow));
    writeFileSync(join(dir, slow, 'migration.sql'), 'CREATE TABLE slow_t (id int);\nSELECT pg_sleep(2.5);\n');

    const bodies: Array<{ phase: string; status: number; text: string }> = [];
    const poll = async (phase: string) => {
      for (const path of ['/api/v1/health', '/api/v1/health/db']) {
        const res = await raw(server, 'GET', path, {});
        bodies.push({ phase, status: res.status, text: res.text });
      }
    };

    // 1. Another session holds Prisma's lock; the deploy job waits for it.
    const holder = new pg.Client({ connectionString: db.url, application_name: 'lock holder' });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock(72707369)');
    const job = runCli(['migrate', '--migrations-dir', dir], { ...env, DIGILOG_LOCK_WAIT_MS: '30000' });
    await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'digilog-db pid=%'`)).length > 0, 10_000);
    for (let i = 0; i < 4; i++) {
      await poll('waiting for the lock');
      await new Promise((r) => setTimeout(r, 150));
    }

    // 2. Released: the slow migration runs; poll until the job ends.
    await holder.query('SELECT pg_advisory_unlock(72707369)');
    await holder.end();
    const done: { run?: CliRun } = {};
    void job.then((run) => (done.run = run));
    while (!done.run) {
      await poll('migrating');
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(done.run.code).toBe(0);
    const migrating = bodies.filter((b) => b.phase === 'migrating' && JSON.parse(b.text).database.details.running?.includes(slow));
    // Seen as running (not failed) while it ran: every replica stays in the load balancer.
    expect(migrating.length).toBeGreaterThan(0);
    expect(migrating.every((b) => b.status === 200)).toBe(true);

    // 3. A migration fails on SQL that names a relation, with the server's raw error text.
    mkdirSync(join(dir, broken));
    writeFileSync(join(dir, broken, 'migration.sql'), "CREATE TABLE half (id int);\nINSERT INTO no_such_secret_table VALUES ('x');\n");
    const failed = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(failed.code).toBe(6);
    await waitFor(async () => (await raw(server, 'GET', '/api/v1/health/db', {})).status === 503, 5_000);
    await poll('failed');
    const failedBody = JSON.parse(bodies.at(-1)!.text);
    expect(failedBody.database.details.failed).toEqual([broken]);
    const cliHealth = await runCli(['health', '--json', '--migrations-dir', dir], env);
    expect(cliHealth.code).not.toBe(0);
    bodies.push({ phase: 'failed (digilog-db health --json)', status: 503, text: cliHealth.stdout });

    // Every public response: the seed's shape and names only; nothing that identifies or leaks the connection.
    const forbidden = [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64'), 'pr0be', ROLE, db.name, '127.0.0.1', 'localhost', 'postgresql://',
      'pg_sleep', 'CREATE TABLE', 'INSERT INTO', 'no_such_secret_table', 'does not exist', '42P01', 'Database error', 'application_name', 'lock holder', ' at '];
    let found = 0;
    for (const body of bodies) {
      const doc = JSON.parse(body.text);
      expect(Object.keys(doc).sort()).toEqual(['database', 'memory', 'status', 'timestamp', 'uptime']);
      for (const form of forbidden) {
        if (body.text.includes(form)) {
          found += 1;
          expect.soft({ phase: body.phase, leaked: form }).toBeUndefined();
        }
      }
    }
    expect(found).toBe(0);
    const phases = new Set(bodies.map((b) => b.phase));
    expect([...phases]).toEqual(['waiting for the lock', 'migrating', 'failed', 'failed (digilog-db health --json)']);
    recordReliability({
      row: 27,
      scenario: 'API health polled while a deploy job waits for the lock, while a 2.5 s migration runs, and after a migration fails',
      fault: 'lock held by another session; pg_sleep migration; failing INSERT into a missing table',
      result: `${bodies.length} responses (${migrating.length} during the migration, all 200 "running"): states and migration names only`,
      runners: 2,
      faults: 3,
      leakedPasswords: bodies.reduce((n, b) => n + [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')].filter((f) => b.text.includes(f)).length, 0),
    });
  });
});

describe('[row 28] settings API hostile input', () => {
  it('[row 28] oversized, deep, invalid UTF-8, SQL metacharacters, prototype keys, wrong content types, path traversal: 4xx, nothing written, still healthy', async () => {
    const db = await newDatabase();
    const server = await boot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
    const json = { 'content-type': 'application/json' };
    const body = (text: string) => Buffer.from(text, 'utf8');
    const put = (path: string, payload: Buffer, headers: Record<string, string> = json) => () => raw(server, 'PUT', `/api/v1/settings/${path}`, headers, payload);
    const ok = body('{"value":1}');
    expect((await put('existing.key', body('{"value":{"a":1}}'))()).status).toBe(201);

    const hostile: Array<[label: string, send: () => Promise<RawResponse>, status: number]> = [
      ['100 KB body', put('big.body', body(JSON.stringify({ value: 'x'.repeat(100_000) }))), 413],
      ['2 MB body', put('huge.body', Buffer.alloc(2 * 1024 * 1024, 0x20)), 413],
      ['20 KB value', put('big.value', body(JSON.stringify({ value: 'x'.repeat(20_000) }))), 413],
      ['10 000 nested arrays', put('deep.arrays', body(`{"value":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)), 400],
      ['10 000 nested objects', put('deep.objects', body(`{"value":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`)), 400],
      ['33 nested levels', put('deep.limit', body(`{"value":${'['.repeat(33)}${']'.repeat(33)}}`)), 400],
      ['invalid UTF-8 bytes', put('bad.utf8', Buffer.concat([body('{"value":"'), Buffer.from([0xff, 0xfe, 0xc3]), body('"}')])), 400],
      ['overlong UTF-8 "/"', put('overlong.utf8', Buffer.concat([body('{"value":"..'), Buffer.from([0xc0, 0xaf]), body('"}')])), 400],
      ['lone surrogate bytes', put('surrogate.utf8', Buffer.concat([body('{"value":"'), Buffer.from([0xed, 0xa0, 0x80]), body('"}')])), 400],
      ['SQL in key', put(encodeURIComponent("x'; DROP TABLE settings;--"), ok), 400],
      ['SQL OR in key', put(encodeURIComponent("a' OR '1'='1"), ok), 400],
      ['SQL in cursor', () => raw(server, 'GET', `/api/v1/settings?cursor=${encodeURIComponent("' OR 1=1--")}`, {}), 400],
      ['SQL in limit', () => raw(server, 'GET', '/api/v1/settings?limit=1;DELETE%20FROM%20settings', {}), 400],
      ['SQL in delete key', () => raw(server, 'DELETE', `/api/v1/settings/${encodeURIComponent("existing.key' OR 'x'='x")}`, {}), 400],
      ['__proto__ at the top', put('proto.top', body('{"value":1,"__proto__":{"admin":true}}')), 400],
      ['__proto__ inside the value', put('proto.nested', body('{"value":{"list":[{"__proto__":{"polluted":true}}]}}')), 400],
      ['constructor.prototype at the top', put('ctor.top', body('{"value":1,"constructor":{"prototype":{"admin":true}}}')), 400],
      ['text/plain', put('ct.text', ok, { 'content-type': 'text/plain' }), 415],
      ['form-urlencoded', put('ct.form', body('value=1'), { 'content-type': 'application/x-www-form-urlencoded' }), 415],
      ['multipart', put('ct.multipart', body('--b\r\n\r\n{"value":1}\r\n--b--'), { 'content-type': 'multipart/form-data; boundary=b' }), 415],
      ['no content type', put('ct.none', ok, {}), 415],
      ['JSON declared latin1', put('ct.latin1', ok, { 'content-type': 'application/json; charset=latin1' }), 415],
      ['truncated JSON', put('bad.json', body('{"value": 1')), 400],
      ['JSON array body', put('array.body', body('[{"value":1}]')), 400],
      ['key ../', () => raw(server, 'PUT', '/api/v1/settings/../../../etc/passwd', json, ok), 404],
      ['key %2e%2e%2f', put('%2e%2e%2f%2e%2e%2fetc%2fpasswd', ok), 400],
      ['key ..%2f', put('..%2f..%2fetc', ok), 400],
      ['key double-encoded', put('%252e%252e%252fetc', ok), 400],
      ['key backslashes', put('..%5c..%5cwindows', ok), 400],
      ['key NUL byte', put('a%00b', ok), 400],
      ['key 129 characters', put('a'.repeat(129), ok), 400],
      ['get ../ key', () => raw(server, 'GET', '/api/v1/settings/%2e%2e%2fexisting.key', {}), 400],
    ];
    const counts = async () =>
      (await db.query<{ settings: number; changes: number; rows: string }>(
        `SELECT (SELECT count(*)::int FROM settings) AS settings, (SELECT count(*)::int FROM setting_changes) AS changes,
                (SELECT string_agg(key || '=' || value::text || '@' || version, ',' ORDER BY key) FROM settings) AS rows`,
      ))[0]!;
    const before = await counts();
    let sent = 0;
    for (const [label, send, status] of hostile) {
      const res = await send();
      sent += 1;
      expect({ label, status: res.status }).toEqual({ label, status });
      expect(JSON.parse(res.text).error.code, label).toEqual(expect.any(String));
      expect(res.text, label).not.toMatch(/\bat .*\.js|SELECT|prisma|RangeError|stack/i);
    }
    expect(await counts()).toEqual(before);
    // Object.prototype of the server was not polluted, and it still serves.
    expect((await raw(server, 'GET', '/api/v1/settings/existing.key', {})).text).not.toContain('polluted');
    expect((await raw(server, 'GET', '/api/v1/health', {})).status).toBe(200);
    expect((await put('after.attack', body('{"value":"fine ✓"}'))()).status).toBe(201);
    expect(server.child.exitCode).toBeNull();
    recordReliability({
      row: 28,
      scenario: 'Settings API attacked with malformed and malicious requests, sent byte for byte',
      fault: 'oversized bodies, 10 000-level JSON, invalid UTF-8, SQL metacharacters, __proto__/constructor keys, wrong content types, path traversal',
      result: `${sent} requests: each 4xx with a JSON error; settings and audit rows unchanged (${before.settings}/${before.changes}); health 200 and a valid write afterwards`,
      runners: 1,
      badInputs: sent,
    });
  });
});
