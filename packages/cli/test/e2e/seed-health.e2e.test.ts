/** `seed` (idempotent) and `health` (the /api/v1/health/db report, exit 0 only when healthy) on the project's own schema. */
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';

const newDatabase = testDatabases();

describe('seed and health', () => {
  it('seed twice changes nothing; health reports pending (exit 8) then healthy (exit 0) with the seed shape', async () => {
    const db = await newDatabase('digilog_seed');
    const env = { DATABASE_URL: db.url };

    const pending = await runCli(['health', '--json'], env);
    expect(pending.code).toBe(EXIT_CODES.unreachable);
    const pendingBody = JSON.parse(pending.stdout);
    expect(pendingBody).toMatchObject({ status: 'unhealthy', database: { status: 'unhealthy' } });
    expect(pendingBody.database.details.pending.length).toBeGreaterThan(0);

    expect((await runCli(['migrate'], env)).code).toBe(0);
    const first = await runCli(['seed'], env);
    expect(first.code).toBe(0);
    const snapshot = () => db.query('SELECT id, key, value, description, version, created_at, updated_at FROM settings ORDER BY key');
    const afterFirst = await snapshot();
    expect(afterFirst.length).toBeGreaterThanOrEqual(5);
    const second = await runCli(['seed', '--json'], env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).output).toMatch(/Seeded 0 new settings/);
    expect(await snapshot()).toEqual(afterFirst);

    const healthy = await runCli(['health', '--json'], env);
    expect(healthy.code).toBe(0);
    const body = JSON.parse(healthy.stdout);
    expect(Object.keys(body).sort()).toEqual(['database', 'memory', 'status', 'timestamp', 'uptime']);
    expect(body).toMatchObject({ status: 'healthy', database: { status: 'healthy', details: { migrationStatus: 'Database is up to date!' } } });

    const down = await runCli(['health'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' });
    expect(down.code).toBe(EXIT_CODES.unreachable);
    expect(down.stdout).toContain('unhealthy');
  });

  it('reset re-applies and re-seeds', async () => {
    const db = await newDatabase('digilog_reset_seed');
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    await db.query(`INSERT INTO settings (id, key, value, updated_at) VALUES (gen_random_uuid(), 'custom.key', '1', now())`);
    const reset = await runCli(['reset', '--yes', '--json'], env);
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ ok: true, seeded: true });
    const keys = (await db.query<{ key: string }>('SELECT key FROM settings')).map((r) => r.key);
    expect(keys).not.toContain('custom.key');
    expect(keys).toContain('logging.retention_days');
  });
});
