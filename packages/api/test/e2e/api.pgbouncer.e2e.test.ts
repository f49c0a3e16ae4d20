/**
 * The Settings API behind a real PgBouncer in pool_mode=transaction, wired as
 * docker-compose.prod.yml does: DATABASE_URL (Prisma Client's queries) points at the pooler,
 * DIRECT_URL (migrations at boot) at PostgreSQL. Prisma Client runs on @prisma/adapter-pg,
 * whose node-postgres queries use unnamed prepared statements, so they work through
 * PgBouncer older than 1.21 too (Debian 12 ships 1.18, with no named-statement support in
 * transaction mode). Without DIRECT_URL the boot migration goes through the pooler and is
 * refused, as `digilog-db migrate` is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../cli/src/errors.js';
import { testDatabases } from '../../../cli/test/support/database.js';
import { ADMIN_URL } from '../../../cli/test/support/database.js';
import { startPgBouncer, type PgBouncer } from '../../../cli/test/support/pgbouncer.js';
import { createKey } from '../support/api-keys.js';
import { startServer, type RunningServer } from '../support/server.js';

const newDatabase = testDatabases();
const servers: RunningServer[] = [];
let pgbouncer: PgBouncer;
beforeAll(async () => {
  pgbouncer = await startPgBouncer({ upstreamPort: Number(new URL(ADMIN_URL).port || 5432), poolMode: 'transaction', poolSize: 3 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await pgbouncer?.stop();
});

// Production as the compose file runs it (the backup is the platform's job there: no pg_dump in the image).
const production = { NODE_ENV: 'production', AUTO_MIGRATE: 'true', LOG_FORMAT: 'json', DIGILOG_BACKUP: 'false', DIGILOG_CONNECT_RETRIES: '0' };

describe('Settings API through PgBouncer (pool_mode=transaction)', () => {
  it('migrates at boot on DIRECT_URL, then serves settings CRUD through the pooler', async () => {
    const db = await newDatabase('digilog_api_pgbouncer');
    const server = await startServer({ ...production, DATABASE_URL: pgbouncer.pooled(db.url), DIRECT_URL: db.url }, { timeoutMs: 120_000 });
    servers.push(server);
    const applied = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    expect(applied[0]!.n).toBeGreaterThan(0);

    // Production requires a key: made as an operator makes it, on the direct URL.
    const { headers } = await createKey(db.url, ['settings:read', 'settings:write']);
    const fetch = (url: string, init: RequestInit = {}) => globalThis.fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
    const base = `${server.url}/api/v1/settings`;
    const put = (key: string, body: unknown) => fetch(`${base}/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await put('logging.retention_days', { value: 30, description: 'Days to keep logs' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ key: 'logging.retention_days', value: 30, version: 1 });
    const updated = await put('logging.retention_days', { value: { days: 45 } });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ value: { days: 45 }, version: 2, description: 'Days to keep logs' });
    expect(await (await fetch(`${base}/logging.retention_days`)).json()).toMatchObject({ value: { days: 45 }, version: 2 });

    // Many at once: more transactions than the pool's 3 server connections, interleaved on them.
    const keys = Array.from({ length: 20 }, (_, i) => `bulk.key_${String(i).padStart(2, '0')}`);
    const statuses = await Promise.all(keys.map((key, i) => put(key, { value: i }).then((r) => r.status)));
    expect(statuses).toEqual(keys.map(() => 201));
    const listed = (await (await fetch(`${base}?limit=100`)).json()) as { items: Array<{ key: string }> };
    expect(listed.items.map((s) => s.key)).toEqual([...keys, 'logging.retention_days']);

    expect((await fetch(`${base}/logging.retention_days`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${base}/logging.retention_days`)).status).toBe(404);
    expect(await db.query('SELECT count(*)::int AS n FROM settings')).toEqual([{ n: keys.length }]);

    // The queries really went through PgBouncer: it holds server connections to this database.
    expect((await pgbouncer.serverPids(db.name)).length).toBeGreaterThan(0);
    expect(server.output()).not.toContain('"level":"error"');
  }, 180_000);

  it('without DIRECT_URL the boot migration through the pooler is refused: exit code and explanation, nothing applied', async () => {
    const db = await newDatabase('digilog_api_pgbouncer_refused');
    const failed = await startServer({ ...production, DATABASE_URL: pgbouncer.pooled(db.url) }, { timeoutMs: 120_000 }).then(
      (server) => {
        servers.push(server);
        throw new Error(`the API started through the pooler:\n${server.output()}`);
      },
      (error: { exitCode?: number; output?: string }) => error,
    );
    expect(failed.exitCode, failed.output).toBe(EXIT_CODES.config);
    expect(failed.output).toContain('transaction-pooling proxy');
    expect(failed.output).toContain('direct connection');
    expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS m`)).toEqual([{ m: null }]);
  }, 180_000);
});
