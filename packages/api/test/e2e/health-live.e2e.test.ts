/**
 * GET /api/v1/health/live, the liveness probe of deploy/k8s/deployment.yaml: 200 while the process
 * serves, whatever the database does. The seed's two endpoints keep their shapes and still turn
 * 503 when the database is unreachable (they are the readiness side).
 */
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { startTcpProxy } from '../../../cli/test/support/tcp-proxy.js';
import { startServer, waitFor } from '../support/server.js';

const createDatabase = testDatabases();

describe('GET /api/v1/health/live', () => {
  it('answers 200 with no database dependency while /api/v1/health and /health/db answer 503', async () => {
    const db = await createDatabase('digilog_health_live');
    const proxy = await startTcpProxy(5432);
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const server = await startServer({ DATABASE_URL: url.toString(), AUTO_MIGRATE: 'true', DIGILOG_CONNECT_RETRIES: '0' });
    try {
      const live = async () => {
        const res = await fetch(`${server.url}/api/v1/health/live`);
        return { status: res.status, cache: res.headers.get('cache-control'), body: (await res.json()) as Record<string, unknown> };
      };
      expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
      const up = await live();
      expect(up).toEqual({ status: 200, cache: 'no-store', body: { status: 'alive', uptimeSeconds: expect.any(Number) } });

      // The database goes away: the seed's endpoints say so (readiness), liveness does not.
      await proxy.close();
      await waitFor(async () => (await fetch(`${server.url}/api/v1/health`)).status === 503, 15_000);
      const overall = await fetch(`${server.url}/api/v1/health`);
      expect(overall.status).toBe(503);
      expect(await overall.json()).toMatchObject({ status: 'unhealthy', database: { status: 'unhealthy' } });
      const dbHealth = await fetch(`${server.url}/api/v1/health/db`);
      expect(dbHealth.status).toBe(503);
      expect(await dbHealth.json()).toMatchObject({ status: 'unhealthy' });
      const down = await live();
      expect(down.status).toBe(200);
      expect(down.body.status).toBe('alive');
      expect(JSON.stringify(down.body)).not.toMatch(/database|postgres/i);
    } finally {
      await server.stop();
      await proxy.close().catch(() => {});
    }
  });
});
