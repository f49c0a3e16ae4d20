/**
 * Request metrics and access logs of the real server: the duration histogram is labelled by
 * route pattern only (a random 404 path and a traversal attempt leave no trace of their path)
 * and passes `promtool check metrics`; every request has exactly one access log line whose
 * request id is the one in its X-Request-Id response header; a sane incoming id is echoed, an
 * insane one replaced; no key, query string or body in any line.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { havePromtool, promtool } from '../../../cli/test/support/promtool.js';
import { createKey } from '../support/api-keys.js';
import { startServer, waitFor } from '../support/server.js';

const createDatabase = testDatabases();
const SECRET_QUERY = 'q-s3cret-tok3n-981';
const SECRET_BODY = 'b0dy-s3cret-552';

interface Answer {
  status: number;
  requestId: string;
  route: string;
}

/** A raw request (node:http sends the path as given: fetch would resolve `..` before sending). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP request metrics and access logs', () => {
  it('histogram by route pattern, one access log line per request with its X-Request-Id, no secrets', { timeout: 120_000 }, async () => {
    const db = await createDatabase('digilog_http_metrics');
    const server = await startServer({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
    try {
      const prometheus = await createKey(db.url, ['metrics:read'], 'prometheus');
      const writer = await createKey(db.url, ['settings:read', 'settings:write'], 'writer');
      const answers: Answer[] = [];
      const send = async (route: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
        const res = await raw(server.url, method, path, headers, body);
        const requestId = res.headers['x-request-id'];
        expect(typeof requestId, `${method} ${path}`).toBe('string');
        answers.push({ status: res.status, requestId: requestId as string, route });
        return res;
      };

      const junk = `/${randomUUID()}/wp-admin.php`;
      expect((await send('/api/v1/health', 'GET', '/api/v1/health')).status).toBe(200);
      expect((await send('/api/v1/settings/:key', 'PUT', '/api/v1/settings/feature.flag', writer.headers, JSON.stringify({ value: SECRET_BODY }))).status).toBe(201);
      expect((await send('/api/v1/settings/:key', 'GET', `/api/v1/settings/feature.flag?token=${SECRET_QUERY}`, writer.headers)).status).toBe(200);
      expect((await send('/api/v1/settings', 'GET', `/api/v1/settings?limit=5&api_key=${SECRET_QUERY}`, writer.headers)).status).toBe(200);
      expect((await send('/api/v1/settings/:key', 'GET', '/api/v1/settings/no-such-key', writer.headers)).status).toBe(404);
      expect((await send('/api/v1/settings/:key', 'DELETE', '/api/v1/settings/feature.flag', writer.headers)).status).toBe(204);
      expect((await send('unmatched', 'GET', junk, writer.headers)).status).toBe(404);
      // Traversal attempts, raw and encoded: never a file, never their path as a label.
      expect((await send('unmatched', 'GET', '/api/v1/settings/../../../etc/passwd', writer.headers)).status).toBe(404);
      expect((await send('/api/v1/settings/:key', 'GET', '/api/v1/settings/..%2f..%2fetc%2fpasswd', writer.headers)).status).toBe(400);
      // Refused by the key check in front of the settings router: no route matched yet.
      expect((await send('unmatched', 'GET', '/api/v1/settings/feature.flag')).status).toBe(401);
      expect((await send('/api/v1/settings/:key', 'PATCH', '/api/v1/settings/feature.flag', writer.headers)).status).toBe(405);

      // A sane incoming id is echoed; one too long or with other characters is replaced.
      const given = 'trace-1234.abcd_EF';
      expect((await send('/api/v1/health/live', 'GET', '/api/v1/health/live', { 'x-request-id': given })).headers['x-request-id']).toBe(given);
      for (const bad of ['x'.repeat(129), 'a b', '"},{"level":"error', 'id/../x']) {
        const res = await send('/api/v1/health/live', 'GET', '/api/v1/health/live', { 'x-request-id': bad });
        expect(res.headers['x-request-id']).not.toBe(bad);
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      }

      const scraped = await send('/metrics', 'GET', '/metrics', prometheus.headers);
      expect(scraped.status).toBe(200);
      const text = scraped.text;
      const lines = text.split('\n').filter((l) => l.startsWith('digilog_http_request_duration_seconds'));
      expect(text).toContain('# TYPE digilog_http_request_duration_seconds histogram');
      const routes = new Set(lines.map((l) => /route="([^"]*)"/.exec(l)?.[1]));
      expect([...routes].sort()).toEqual(['/api/v1/health', '/api/v1/health/live', '/api/v1/settings', '/api/v1/settings/:key', 'unmatched']);
      expect(text).not.toContain('wp-admin');
      expect(text).not.toContain('passwd');
      expect(text).not.toContain('feature.flag');
      const count = (labels: string) => Number(lines.find((l) => l.startsWith(`digilog_http_request_duration_seconds_count{${labels}}`))?.split(' ')[1]);
      expect(count('method="GET",route="unmatched",status="404"')).toBe(2);
      expect(count('method="GET",route="/api/v1/settings/:key",status="200"')).toBe(1);
      expect(count('method="GET",route="/api/v1/health/live",status="200"')).toBe(5);
      expect(count('method="PATCH",route="/api/v1/settings/:key",status="405"')).toBe(1);
      expect(lines.some((l) => l.includes('le="+Inf"'))).toBe(true);
      if (havePromtool()) {
        // prom-client's default nodejs_active_*_total gauges are upstream names (see metrics.e2e.test.ts).
        const upstream = /^(# (HELP|TYPE) )?nodejs_active_(handles|requests|resources)_total[ {]/;
        const lint = promtool(['check', 'metrics'], text.split('\n').filter((line) => !upstream.test(line)).join('\n'));
        expect(lint.stdout + lint.stderr).toBe('');
        expect(lint.code).toBe(0);
      }

      // One access log line per request; the line is written when the response ends, so wait for the last one.
      const accessLines = () =>
        server
          .output()
          .split('\n')
          .filter((l) => l.includes('"event":"http.request"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      await waitFor(async () => accessLines().length >= answers.length, 10_000);
      const logged = accessLines();
      expect(logged).toHaveLength(answers.length);
      for (const answer of answers) {
        const mine = logged.filter((l) => l.requestId === answer.requestId);
        expect(mine, answer.requestId).toHaveLength(1);
        expect(mine[0]).toMatchObject({ level: 'info', msg: 'request', route: answer.route, status: answer.status });
        expect(mine[0]!.durationMs).toBeGreaterThanOrEqual(0);
      }
      expect(logged.find((l) => l.requestId === given)).toMatchObject({ method: 'GET', route: '/api/v1/health/live', status: 200 });

      // No key (nor its secret part), no query string, no body, no raw path in any line the server wrote.
      const output = server.output();
      for (const key of [prometheus.key, writer.key]) {
        expect(output).not.toContain(key);
        expect(output).not.toContain(key.split('.')[1]!);
      }
      for (const secret of [SECRET_QUERY, SECRET_BODY, 'wp-admin', 'passwd', 'Bearer']) expect(output).not.toContain(secret);
    } finally {
      await server.stop();
    }
  });
});
