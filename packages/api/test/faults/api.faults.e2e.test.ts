/**
 * The API against PostgreSQL clusters the test owns: the database stopped and
 * restarted under a running API, and a real streaming replica for reads.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../../cli/test/support/cluster.js';
import { startServer, waitFor, type RunningServer } from '../support/server.js';

let primary: Awaited<ReturnType<typeof startCluster>>;
let replica: Cluster | undefined;
const servers: RunningServer[] = [];

beforeAll(async () => {
  primary = await startCluster();
  const admin = new pg.Client({ connectionString: primary.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE digilog');
  await admin.end();
  replica = await primary.startReplica();
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  primary?.destroyAll(replica ? [replica] : []);
});

async function health(server: RunningServer): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${server.url}/api/v1/health/db`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

describe('streaming replica', () => {
  it('reads from the replica, reads own writes, reports lag and migration, degrades when the replica stops', async () => {
    const server = await startServer({ DATABASE_URL: primary.url('digilog'), DATABASE_URL_REPLICA: replica!.url('digilog'), AUTO_MIGRATE: 'true' });
    servers.push(server);
    await waitFor(async () => (await health(server)).body.database.details.replica?.hasLatestMigration === true, 10_000);
    const ok = await health(server);
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('healthy');
    expect(ok.body.database.details.replica).toEqual({ reachable: true, lagSeconds: expect.any(Number), latestMigration: ok.body.database.details.latestMigration, hasLatestMigration: true });
    expect(ok.text).not.toContain(String(replica!.port));

    // Read your writes: the writer sees its value at once, whichever server answers.
    const headers = { 'content-type': 'application/json', 'x-client-id': 'writer' };
    for (let i = 1; i <= 20; i++) {
      const put = await fetch(`${server.url}/api/v1/settings/rw.counter`, { method: 'PUT', headers, body: JSON.stringify({ value: i }) });
      expect(put.status).toBeLessThan(300);
      const got = await fetch(`${server.url}/api/v1/settings/rw.counter`, { headers: { 'x-client-id': 'writer' } });
      expect(((await got.json()) as { value: unknown }).value).toBe(i);
    }
    // Another client, once the replica has caught up, is served by the replica.
    await waitFor(async () => {
      const res = await fetch(`${server.url}/api/v1/settings/rw.counter`, { headers: { 'x-client-id': 'reader' } });
      return res.headers.get("x-served-by") === "replica" && ((await res.json()) as { value: unknown }).value === 20;
    }, 10_000);

    replica!.stop('fast');
    await waitFor(async () => (await health(server)).body.database.details.replica?.reachable === false, 5_000);
    const degraded = await health(server);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    const write = await fetch(`${server.url}/api/v1/settings/after.replica.down`, { method: 'PUT', headers, body: JSON.stringify({ value: 'still works' }) });
    expect(write.status).toBe(201);
    const read = await fetch(`${server.url}/api/v1/settings/after.replica.down`, { headers: { 'x-client-id': 'reader' } });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-served-by')).toBe('primary');
    replica!.start();
  });
});

describe('database outage', () => {
  it('database stopped → 503 with a clean message within 5 s; restarted → healthy again without restarting the API', async () => {
    const server = await startServer({ DATABASE_URL: primary.url('digilog'), AUTO_MIGRATE: 'true' });
    servers.push(server);
    expect((await health(server)).status).toBe(200);
    replica?.stop('fast');
    replica = undefined;
    primary.stop('fast');
    await waitFor(async () => (await health(server)).status === 503, 5_000);
    const body = await health(server);
    expect(body.body.database).toMatchObject({ status: 'unhealthy', message: 'Database connection failed' });
    expect(body.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres(ql)?:\/\/|at .*\.js/);
    const settings = await fetch(`${server.url}/api/v1/settings`);
    expect(settings.status).toBe(500);
    expect(await settings.text()).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|prisma/i);
    primary.start();
    await waitFor(async () => (await health(server)).status === 200, 15_000);
    expect((await fetch(`${server.url}/api/v1/settings`)).status).toBe(200);
  });
});
