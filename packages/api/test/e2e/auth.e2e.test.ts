/**
 * API keys on the real server and PostgreSQL: no key, a read-only key writing, a revoked key,
 * a wrong secret → 401/403 and nothing written; keys stored hashed; /metrics not public; the
 * health endpoints and the OpenAPI document public; NODE_ENV=production locked without any key;
 * rotation with two keys active at once; no key in any log line or CLI output but its creation.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { runCli } from '../../../cli/test/support/cli.js';
import { recordReliability } from '../../../cli/test/support/reliability.js';
import { createKey, revokeKey } from '../support/api-keys.js';
import { startServer, type RunningServer } from '../support/server.js';

const createDatabase = testDatabases();
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

async function boot(env: Record<string, string>): Promise<RunningServer> {
  const server = await startServer(env, { timeoutMs: 60_000 });
  servers.push(server);
  return server;
}

const put = (base: string, key: string, headers: Record<string, string> = {}, value: unknown = 'x') =>
  fetch(`${base}/api/v1/settings/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ value }) });

async function problem(res: Response): Promise<{ status: number; contentType: string | null; body: any }> {
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.json() };
}

describe('API keys', () => {
  it('without a key, with a read-only key writing, with a revoked key → 401/403, nothing written; keys stored hashed; /metrics not public', { timeout: 180_000 }, async () => {
    const db = await createDatabase('digilog_auth');
    const server = await boot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
    const base = server.url;
    const reader = await createKey(db.url, ['settings:read'], 'reader');
    const writer = await createKey(db.url, ['settings:read', 'settings:write'], 'writer');
    const scraper = await createKey(db.url, ['metrics:read'], 'prometheus');
    const revoked = await createKey(db.url, ['settings:read', 'settings:write', 'metrics:read'], 'old');
    await revokeKey(db.url, revoked.id);
    const created = await put(base, 'auth.seed', writer.headers, 'kept');
    expect(created.status).toBe(201);

    const counts = async () => (await db.query<{ settings: string; changes: string }>('SELECT (SELECT count(*) FROM settings) AS settings, (SELECT count(*) FROM setting_changes) AS changes'))[0];
    const before = await counts();
    // A key of the right shape whose secret is wrong, and things that are no key at all.
    const wrongSecret = { authorization: `Bearer ${writer.key.slice(0, -4)}AAAA` };
    const refused: Array<[string, Response, number]> = [];
    for (const [label, headers] of [
      ['no key', {}],
      ['revoked key', revoked.headers],
      ['wrong secret', wrongSecret],
      ['not a key', { authorization: 'Bearer hunter2' }],
      ['basic auth', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
    ] as Array<[string, Record<string, string>]>) {
      refused.push([`${label}: GET list`, await fetch(`${base}/api/v1/settings`, { headers }), 401]);
      refused.push([`${label}: GET one`, await fetch(`${base}/api/v1/settings/auth.seed`, { headers }), 401]);
      refused.push([`${label}: PUT`, await put(base, 'auth.seed', headers, 'overwritten'), 401]);
      refused.push([`${label}: PUT new`, await put(base, 'auth.new', headers), 401]);
      refused.push([`${label}: DELETE`, await fetch(`${base}/api/v1/settings/auth.seed`, { method: 'DELETE', headers }), 401]);
      refused.push([`${label}: /metrics`, await fetch(`${base}/metrics`, { headers }), 401]);
    }
    refused.push(['read-only key: PUT', await put(base, 'auth.seed', reader.headers, 'overwritten'), 403]);
    refused.push(['read-only key: PUT new', await put(base, 'auth.new', reader.headers), 403]);
    refused.push(['read-only key: DELETE', await fetch(`${base}/api/v1/settings/auth.seed`, { method: 'DELETE', headers: reader.headers }), 403]);
    refused.push(['read-only key: /metrics', await fetch(`${base}/metrics`, { headers: reader.headers }), 403]);
    refused.push(['metrics key: GET', await fetch(`${base}/api/v1/settings`, { headers: scraper.headers }), 403]);
    refused.push(['metrics key: PUT', await put(base, 'auth.seed', scraper.headers, 'overwritten'), 403]);
    for (const [label, res, status] of refused) {
      const p = await problem(res);
      expect({ label, status: p.status, contentType: p.contentType }).toEqual({ label, status, contentType: 'application/problem+json; charset=utf-8' });
      expect(p.body, label).toMatchObject({ status, type: status === 401 ? 'urn:digilog:problem:unauthorized' : 'urn:digilog:problem:forbidden', error: { code: status === 401 ? 'unauthorized' : 'forbidden' } });
      if (status === 401) expect(res.headers.get('www-authenticate'), label).toBe('Bearer realm="digilog-api"');
    }
    // Nothing was written by any refused request.
    expect(await counts()).toEqual(before);
    const seed = await fetch(`${base}/api/v1/settings/auth.seed`, { headers: reader.headers });
    expect(seed.status).toBe(200);
    expect(((await seed.json()) as { value: unknown; version: number })).toMatchObject({ value: 'kept', version: 1 });
    expect((await fetch(`${base}/api/v1/settings/auth.new`, { headers: reader.headers })).status).toBe(404);

    // The right scopes pass; health and the OpenAPI document need no key.
    const scrape = await fetch(`${base}/metrics`, { headers: scraper.headers });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('digilog_database_up 1');
    for (const path of ['/api/v1/health', '/api/v1/health/db', '/api/v1/health/live', '/api/v1/openapi.json']) expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    expect((await fetch(`${base}/api/v1/settings/auth.seed`, { method: 'DELETE', headers: writer.headers })).status).toBe(204);

    // Stored hashed: the table holds SHA-256 of each secret and no key or secret in any column.
    const table = JSON.stringify(await db.query('SELECT * FROM api_keys'));
    const rows = await db.query<{ id: string; key_hash: string }>('SELECT id, key_hash FROM api_keys ORDER BY created_at');
    expect(rows).toHaveLength(4);
    for (const k of [reader, writer, scraper, revoked]) {
      const secret = k.key.split('.')[1]!;
      expect(table).not.toContain(secret);
      expect(rows.find((r) => r.id === k.id)?.key_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    }

    // No key or secret in the server's log lines, nor in `api-key list` / `revoke` output.
    const list = await runCli(['api-key', 'list', '--url', db.url]);
    const listJson = await runCli(['api-key', 'list', '--json', '--url', db.url]);
    expect(list.code).toBe(0);
    expect(JSON.parse(listJson.stdout).keys.map((k: { name: string; active: boolean }) => [k.name, k.active])).toEqual([
      ['reader', true],
      ['writer', true],
      ['prometheus', true],
      ['old', false],
    ]);
    const outputs = [server.output(), list.stdout, list.stderr, listJson.stdout, listJson.stderr];
    for (const k of [reader, writer, scraper, revoked]) for (const text of outputs) expect(text).not.toContain(k.key.split('.')[1]!);
    expect(server.output()).not.toMatch(/dlk_|[Bb]earer/);

    recordReliability({
      row: 37,
      scenario: 'Settings API without a key, with a read-only key writing, with a revoked key',
      fault: 'no key, revoked key, wrong secret, non-key and Basic credentials on every route; read-only and metrics-only keys writing',
      result: '401/403 as problem+json, nothing written; keys stored as SHA-256 only; /metrics refused without metrics:read; no key in any log line',
      badInputs: refused.length,
      leakedPasswords: 0,
    });
  });

  it('NODE_ENV=production requires a key even while none exists; health stays public and discloses nothing', { timeout: 120_000 }, async () => {
    const db = await createDatabase('digilog_auth_prod');
    const migrate = await runCli(['migrate', '--url', db.url], { NODE_ENV: 'production' });
    expect(migrate.code, migrate.stderr).toBe(0);
    const server = await boot({ DATABASE_URL: db.url, NODE_ENV: 'production' });
    expect((await fetch(`${server.url}/api/v1/settings`)).status).toBe(401);
    expect((await put(server.url, 'prod.key')).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
    // Migration names are the health body's business; keys, hashes and URLs are not.
    expect(await health.text()).not.toMatch(/key_hash|dlk_|postgres(ql)?:\/\//);
    expect(await db.query('SELECT 1 FROM settings')).toHaveLength(0);
    expect(server.output()).not.toContain('"event":"auth.open"');
  });

  it('outside production with no key: open with one warning; the first key locks it; two keys at once rotate without downtime', { timeout: 180_000 }, async () => {
    const db = await createDatabase('digilog_auth_dev');
    const server = await boot({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
    for (let i = 0; i < 3; i++) expect((await put(server.url, `dev.open${i}`)).status).toBe(201);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    expect(server.output().split('\n').filter((line) => line.includes('"event":"auth.open"'))).toHaveLength(1);

    const old = await createKey(db.url, ['settings:read', 'settings:write'], 'deploy-1');
    expect((await fetch(`${server.url}/api/v1/settings`)).status).toBe(401);
    expect((await put(server.url, 'dev.after', old.headers)).status).toBe(201);
    // Rotation: the new key works while the old one still does; once the old is revoked, only the new.
    const next = await createKey(db.url, ['settings:read', 'settings:write'], 'deploy-2');
    expect((await fetch(`${server.url}/api/v1/settings`, { headers: old.headers })).status).toBe(200);
    expect((await fetch(`${server.url}/api/v1/settings`, { headers: next.headers })).status).toBe(200);
    await revokeKey(db.url, old.id);
    expect((await fetch(`${server.url}/api/v1/settings`, { headers: old.headers })).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/settings`, { headers: next.headers })).status).toBe(200);
    // Revoking every key does not open the API again.
    await revokeKey(db.url, next.id);
    expect((await fetch(`${server.url}/api/v1/settings`)).status).toBe(401);
  });
});

describe('digilog-db api-key', () => {
  it('bad input: one clear line, exit 2, nothing created; the key is printed once on stdout', { timeout: 120_000 }, async () => {
    const db = await createDatabase('digilog_auth_cli');
    expect((await runCli(['migrate', '--url', db.url])).code).toBe(0);
    const cases: Array<[string[], RegExp]> = [
      [['create', '--name', 'x', '--scope', 'settings:admin'], /^Error: Unknown scope "settings:admin"$/],
      [['create', '--name', 'x'], /^Error: An API key needs at least one --scope$/],
      [['create', '--name', ' ', '--scope', 'settings:read'], /^Error: An API key needs a --name of 1 to 100 characters$/],
      [['revoke', 'not-an-id'], /^Error: "not-an-id" is not an API key id$/],
      [['revoke', '00000000-0000-4000-8000-000000000000'], /^Error: No API key with id 00000000-0000-4000-8000-000000000000$/],
    ];
    for (const [args, line] of cases) {
      const run = await runCli(['api-key', ...args, '--url', db.url]);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr.split('\n')[0]).toMatch(line);
    }
    expect(await db.query('SELECT 1 FROM api_keys')).toHaveLength(0);

    const created = await runCli(['api-key', 'create', '--name', 'ci', '--scope', 'settings:write', '--scope', 'settings:read', '--url', db.url]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^dlk_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}\n$/);
    expect(created.stderr).not.toContain(created.stdout.trim());
    const json = await runCli(['api-key', 'create', '--name', 'ci2', '--scope', 'metrics:read', '--json', '--url', db.url]);
    expect(Object.keys(JSON.parse(json.stdout)).sort()).toEqual(['active', 'createdAt', 'id', 'key', 'name', 'ok', 'revokedAt', 'scopes']);

    // Before the migration: one line saying what to do, exit 3 (pending).
    const empty = await createDatabase('digilog_auth_cli_empty');
    const missing = await runCli(['api-key', 'list', '--url', empty.url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.split('\n')[0]).toMatch(/^Error: The api_keys table does not exist in /);
  });
});
