/**
 * HTTP semantics of the Settings API on the real server and PostgreSQL: ETag and If-Match (a
 * stale tag is 412 and changes nothing, also under racing writers), 405 with Allow, Location on
 * 201, RFC 9457 problem documents, and the OpenAPI 3.1 document generated from the zod schemas.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { createKey, type TestKey } from '../support/api-keys.js';
import { startServer, type RunningServer } from '../support/server.js';

const createDatabase = testDatabases();
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

async function setup(): Promise<{ base: string; key: TestKey; db: Awaited<ReturnType<typeof createDatabase>> }> {
  const db = await createDatabase('digilog_http');
  const server = await startServer({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' }, { timeoutMs: 60_000 });
  servers.push(server);
  return { base: server.url, key: await createKey(db.url, ['settings:read', 'settings:write']), db };
}

describe('Settings API HTTP semantics', () => {
  it('ETag on GET and PUT; a stale If-Match is 412 and changes nothing; 201 carries Location', { timeout: 120_000 }, async () => {
    const { base, key, db } = await setup();
    const url = `${base}/api/v1/settings/http.etag`;
    const put = (value: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'PUT', headers: { ...key.headers, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ value }) });

    const created = await put('one');
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/settings/http.etag');
    const first = created.headers.get('etag')!;
    expect(first).toMatch(/^"1-[0-9a-f-]{36}"$/);
    expect((await fetch(url, { headers: key.headers })).headers.get('etag')).toBe(first);

    const updated = await put('two', { 'if-match': first });
    expect(updated.status).toBe(200);
    expect(updated.headers.get('location')).toBeNull();
    const second = updated.headers.get('etag')!;
    expect(second).toMatch(/^"2-/);

    // The stale tag (and a weak one, and a list without the current tag): 412, nothing written.
    const changes = async () => (await db.query<{ n: string }>("SELECT count(*) AS n FROM setting_changes WHERE setting_key = 'http.etag'"))[0]!.n;
    const before = await changes();
    for (const stale of [first, `W/${second}`, `"x", ${first}`]) {
      const res = await put('three', { 'if-match': stale });
      expect({ stale, status: res.status }).toEqual({ stale, status: 412 });
      expect(await res.json()).toMatchObject({ type: 'urn:digilog:problem:precondition_failed', status: 412, error: { code: 'precondition_failed' } });
    }
    const staleDelete = await fetch(url, { method: 'DELETE', headers: { ...key.headers, 'if-match': first } });
    expect(staleDelete.status).toBe(412);
    expect(await changes()).toBe(before);
    expect(await (await fetch(url, { headers: key.headers })).json()).toMatchObject({ value: 'two', version: 2 });
    expect((await put('three', { 'if-match': `"x", ${second}` })).status).toBe(200);
    expect((await put('four', { 'if-match': '*' })).status).toBe(200);

    // Deleted and created again: its version restarts at 1, but the old tags still do not match.
    expect((await fetch(url, { method: 'DELETE', headers: key.headers })).status).toBe(204);
    expect((await put('again', { 'if-match': '*' })).status).toBe(412);
    expect((await put('again')).status).toBe(201);
    expect((await put('stale', { 'if-match': first })).status).toBe(412);
    expect((await put('x', { 'if-match': 'garbage' })).status).toBe(400);
  });

  it('racing writers holding the same ETag: exactly one wins, the others get 412', { timeout: 120_000 }, async () => {
    const { base, key } = await setup();
    const url = `${base}/api/v1/settings/http.race`;
    const body = (value: unknown) => JSON.stringify({ value });
    const created = await fetch(url, { method: 'PUT', headers: { ...key.headers, 'content-type': 'application/json' }, body: body(0) });
    const etag = created.headers.get('etag')!;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => fetch(url, { method: 'PUT', headers: { ...key.headers, 'content-type': 'application/json', 'if-match': etag }, body: body(i + 1) }).then((r) => r.status)),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((s) => s === 412)).toHaveLength(7);
    expect(await (await fetch(url, { headers: key.headers })).json()).toMatchObject({ version: 2 });
  });

  it('a wrong method is 405 with Allow; errors are application/problem+json; the OpenAPI document is public', { timeout: 120_000 }, async () => {
    const { base, key } = await setup();
    for (const [method, path, allow] of [
      ['POST', '/api/v1/settings', 'GET, HEAD'],
      ['PATCH', '/api/v1/settings/a.b', 'GET, HEAD, PUT, DELETE'],
      ['POST', '/api/v1/settings/a.b', 'GET, HEAD, PUT, DELETE'],
      ['DELETE', '/api/v1/health', 'GET, HEAD'],
      ['POST', '/api/v1/health/live', 'GET, HEAD'],
      ['PUT', '/metrics', 'GET, HEAD'],
      ['POST', '/api/v1/openapi.json', 'GET, HEAD'],
    ]) {
      const res = await fetch(`${base}${path}`, { method, headers: key.headers });
      expect({ method, path, status: res.status, allow: res.headers.get('allow') }).toEqual({ method, path, status: 405, allow });
      expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await res.json()).toEqual({
        type: 'urn:digilog:problem:method_not_allowed',
        title: 'Method Not Allowed',
        status: 405,
        detail: `${method} is not allowed here; allowed: ${allow}`,
        instance: path,
        error: { code: 'method_not_allowed', message: `${method} is not allowed here; allowed: ${allow}` },
      });
    }
    const missing = await fetch(`${base}/api/v1/settings/no.such?secret=1`, { headers: key.headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'urn:digilog:problem:not_found', title: 'Not Found', status: 404, instance: '/api/v1/settings/no.such' });

    const doc = await fetch(`${base}/api/v1/openapi.json`);
    expect(doc.status).toBe(200);
    const openapi = (await doc.json()) as any;
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths).sort()).toEqual(['/api/v1/health', '/api/v1/health/db', '/api/v1/health/live', '/api/v1/openapi.json', '/api/v1/settings', '/api/v1/settings/{key}', '/metrics']);
    const putOp = openapi.paths['/api/v1/settings/{key}'].put;
    expect(putOp.security).toEqual([{ apiKey: ['settings:write'] }]);
    // The request body schema is the route's zod schema: strict, `value` required, scope an enum.
    const body = putOp.requestBody.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', required: ['value'], additionalProperties: false, properties: { scope: { enum: ['GLOBAL', 'TENANT'] } } });
    expect(Object.keys(putOp.responses).sort()).toEqual(['200', '201', '400', '401', '403', '412', '413', '415']);
    expect(openapi.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openapi.components.schemas.Setting.properties.key.pattern).toBe('^[a-z0-9]+(?:[._-][a-z0-9]+)*$');
  });
});
