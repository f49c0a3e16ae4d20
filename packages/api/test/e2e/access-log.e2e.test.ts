/**
 * The access log is buffered (packages/cli/src/log/json-logger.ts, createJsonLogOutput): this
 * checks on the real server that it still writes one line per request, for the last requests
 * before a SIGTERM too (a burst answered just before the signal, one still in flight during it),
 * ahead of the "stopped" line, and that nothing secret reaches it: no key, query string or body,
 * and no X-Request-Id carrying the database password (that id is replaced, not echoed).
 */
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { createKey } from '../support/api-keys.js';
import { jsonLines } from '../support/json-lines.js';
import { startServer, waitFor } from '../support/server.js';

const createDatabase = testDatabases();
// Only token characters, so it passes the request id's shape check: only redaction can refuse it.
const PASSWORD = 'AccessL0g_pw.9Zq';
const SECRET_QUERY = 'q-s3cret-4431';
const SECRET_BODY = 'b0dy-s3cret-7702';

interface Answer {
  status: number;
  requestId: string;
}

/** A PUT whose headers arrive now and whose body only when `finish()` is called: a request in flight. */
function slowPut(url: string, headers: Record<string, string>, body: string): { finish(): void; answer: Promise<Answer> } {
  const { hostname, port } = new URL(url);
  const req = httpRequest({ hostname, port, method: 'PUT', path: '/api/v1/settings/slow.setting', headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return { finish: () => req.end(body), answer };
}

describe('access log, buffered', () => {
  it('every request has its line, the last ones before SIGTERM included, before "stopped"; no secret in any line', { timeout: 120_000 }, async () => {
    const db = await createDatabase('digilog_access_log');
    const url = new URL(db.url);
    url.password = PASSWORD;
    const server = await startServer({ DATABASE_URL: url.toString(), AUTO_MIGRATE: 'true' });
    try {
      const writer = await createKey(db.url, ['settings:read', 'settings:write'], 'writer');
      const answers: Answer[] = [];
      const send = async (path: string, init: RequestInit = {}) => {
        const res = await fetch(`${server.url}${path}`, init);
        await res.arrayBuffer();
        answers.push({ status: res.status, requestId: res.headers.get('x-request-id')! });
        return res;
      };
      // The password as X-Request-Id: a plain token, yet never echoed nor logged.
      const echoed = await send('/api/v1/health/live', { headers: { 'x-request-id': PASSWORD } });
      expect(echoed.headers.get('x-request-id')).not.toBe(PASSWORD);
      expect((await send('/api/v1/settings/feature.flag', { method: 'PUT', headers: { ...writer.headers, 'content-type': 'application/json' }, body: JSON.stringify({ value: SECRET_BODY }) })).status).toBe(201);

      // In flight across the signal: its headers are in, its body comes after SIGTERM.
      const slow = slowPut(server.url, writer.headers, JSON.stringify({ value: 'late' }));
      await new Promise((r) => setTimeout(r, 300));
      // A burst (keep-alive connections), answered just before the signal: its lines are still buffered.
      const burst = Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0 ? `/api/v1/health/db` : i % 3 === 1 ? `/api/v1/settings/feature.flag?token=${SECRET_QUERY}` : `/no/such/route/${i}`,
      );
      await Promise.all(burst.map((path) => send(path, { headers: writer.headers })));
      server.child.kill('SIGTERM');
      await waitFor(async () => server.output().includes('"msg":"shutting down"'), 10_000, 10);
      slow.finish();
      answers.push(await slow.answer);
      expect(await server.exited).toBe(0);

      const lines = jsonLines(server.output());
      const access = lines.filter((l) => l.event === 'http.request');
      expect(access).toHaveLength(answers.length);
      for (const answer of answers) {
        const mine = access.filter((l) => l.requestId === answer.requestId);
        expect(mine, answer.requestId).toHaveLength(1);
        expect(mine[0]).toMatchObject({ level: 'info', msg: 'request', status: answer.status, durationMs: expect.any(Number), service: 'digilog-api' });
      }
      expect(access.at(-1)).toMatchObject({ method: 'PUT', route: '/api/v1/settings/:key', status: 201 });
      expect(new Set(access.map((l) => l.route))).toEqual(new Set(['/api/v1/health/live', '/api/v1/health/db', '/api/v1/settings/:key', 'unmatched']));
      // One stream, one order: the in-flight request's line comes after "shutting down" and before "stopped", the last line.
      const at = (predicate: (l: (typeof lines)[number]) => boolean) => lines.findIndex(predicate);
      expect(at((l) => l.msg === 'shutting down')).toBeLessThan(lines.indexOf(access.at(-1)!));
      expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });

      const output = server.output();
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), writer.key, writer.key.split('.')[1]!, SECRET_QUERY, SECRET_BODY, 'Bearer', 'no/such/route']) {
        expect(output, secret).not.toContain(secret);
      }
    } finally {
      if (server.child.exitCode === null) await server.stop('SIGKILL');
    }
  });
});
