/**
 * createApp(deps) in-process: the app never listens by itself, so the test serves it on
 * port 0 in this process, with the real health monitor and Prisma Client on a real
 * PostgreSQL database migrated by the library (no child process, no mocks).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApiKey, loadConfig, migrate, resolveProjectPaths, runnerOptions, silentLogger } from '@digilog/db';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { DatabaseRouter, createPrisma } from '../../src/database.js';
import { HealthMonitor } from '../../src/health/monitor.js';
import { testDatabases } from '../../../cli/test/support/database.js';
import { REPO_ROOT } from '../support/server.js';

const newDatabase = testDatabases();
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe('createApp in-process', () => {
  it('serves health, settings and JSON errors on port 0 from the given dependencies', async () => {
    const db = await newDatabase('digilog_app_inproc');
    const runner = runnerOptions(loadConfig({ DATABASE_URL: db.url }), resolveProjectPaths({ cwd: REPO_ROOT }));
    const migrated = await migrate(runner);
    expect(migrated.applied.length).toBeGreaterThan(0);

    const health = new HealthMonitor({ runner, replicaUrl: undefined, refreshMs: 60_000, boot: { action: 'applied', reason: 'migrated by the test' }, log: silentLogger });
    await health.start();
    cleanups.push(() => health.stop());
    const pooled = createPrisma(db.url);
    const router = new DatabaseRouter(pooled, undefined, () => null);
    cleanups.push(() => router.disconnect().then(() => pooled.pool.end()));
    // No metrics in the deps: /metrics is not served.
    const app = createApp({ health, db: router, log: silentLogger });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const healthRes = await fetch(`${base}/api/v1/health`);
    expect(healthRes.status).toBe(200);
    expect(healthRes.headers.get('cache-control')).toBe('no-store');
    expect(await healthRes.json()).toMatchObject({ status: 'healthy' });

    const put = await fetch(`${base}/api/v1/settings/app.theme`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: { mode: 'dark' } }) });
    expect(put.status).toBe(201);
    const got = await fetch(`${base}/api/v1/settings/app.theme`);
    expect(got.status).toBe(200);
    expect(got.headers.get('x-served-by')).toBe('primary');
    expect(await got.json()).toMatchObject({ key: 'app.theme', value: { mode: 'dark' }, version: 1 });
    expect(await db.query(`SELECT setting_key FROM setting_changes`)).toEqual([{ setting_key: 'app.theme' }]);

    const missing = await fetch(`${base}/api/v1/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect(app.get('x-powered-by')).toBe(false);

    // A key made through the library (what `digilog-db api-key create` runs) locks the open app at once.
    const { key } = await createApiKey(runner, { name: 'inproc', scopes: ['settings:read'] });
    expect((await fetch(`${base}/api/v1/settings/app.theme`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/settings/app.theme`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  });
});
