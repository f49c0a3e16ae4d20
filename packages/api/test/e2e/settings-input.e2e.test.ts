/**
 * Settings input PostgreSQL cannot store, and requests racing on one key,
 * against the real server: each is a 4xx with nothing written, never a 500.
 * Before, "\u0000" (22P05 in jsonb, 22021 in text) and lone surrogates were
 * 500s (or silently stored as U+FFFD in the description), and a DELETE that
 * lost a race to another DELETE was a 500 (Prisma P2025).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { startServer, type RunningServer } from '../support/server.js';

const database = testDatabases();
const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
});

async function boot(): Promise<{ server: RunningServer; db: Awaited<ReturnType<typeof database>> }> {
  const db = await database('digilog_settings_input');
  const server = await startServer({ DATABASE_URL: db.url, AUTO_MIGRATE: 'true' });
  servers.push(server);
  return { server, db };
}

/** PUT with the body text as written (JSON escapes such as \u0000 reach the server unparsed). */
async function put(server: RunningServer, key: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/api/v1/settings/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

describe('settings values PostgreSQL cannot store', () => {
  it('NUL characters and lone surrogates in values, object keys and descriptions: 400, nothing written', async () => {
    const { server, db } = await boot();
    const cases: Array<[label: string, body: string]> = [
      ['NUL in a string value', String.raw`{"value":"\u0000"}`],
      ['NUL inside a longer string', String.raw`{"value":"a\u0000b"}`],
      ['lone high surrogate', String.raw`{"value":"\ud800"}`],
      ['lone low surrogate', String.raw`{"value":"x\udfffy"}`],
      ['NUL in an object key', String.raw`{"value":{"\u0000":1}}`],
      ['lone surrogate in a nested key', String.raw`{"value":{"a":[{"\ud800":1}]}}`],
      ['NUL in the description', String.raw`{"value":1,"description":"\u0000"}`],
      ['lone surrogate in the description', String.raw`{"value":1,"description":"\udfff"}`],
    ];
    for (const [label, body] of cases) {
      const res = await put(server, 'bad.text', body);
      expect({ label, status: res.status, code: res.body.error?.code }).toEqual({ label, status: 400, code: 'invalid_text' });
    }
    expect(await db.query('SELECT (SELECT count(*)::int FROM settings) AS settings, (SELECT count(*)::int FROM setting_changes) AS changes')).toEqual([{ settings: 0, changes: 0 }]);
    // A valid surrogate pair and other control characters are fine.
    expect((await put(server, 'good.text', String.raw`{"value":"\ud83d\ude00 \u0001","description":"ok \ud83d\ude00"}`)).status).toBe(201);
    const stored = await fetch(`${server.url}/api/v1/settings/good.text`).then((r) => r.json() as Promise<{ value: string; description: string }>);
    expect(stored.value).toBe('😀 \u0001');
    expect(stored.description).toBe('ok 😀');
    expect(server.output()).not.toContain('"msg":"request failed"');
  });
});

describe('requests racing on one key', () => {
  it('10 DELETEs racing 10 PUTs, several rounds: only 2xx and 404, never a 5xx; the audit trail matches', async () => {
    const { server, db } = await boot();
    const statuses = new Map<number, number>();
    for (let round = 0; round < 8; round++) {
      const requests = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? fetch(`${server.url}/api/v1/settings/race.key`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: { round, i } }) })
          : fetch(`${server.url}/api/v1/settings/race.key`, { method: 'DELETE' }),
      );
      for (const res of await Promise.all(requests)) {
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }
    const seen = Object.fromEntries(statuses);
    for (const status of statuses.keys()) expect([200, 201, 204, 404], JSON.stringify(seen)).toContain(status);
    expect(server.output()).not.toContain('"msg":"request failed"');
    // Every successful change is in the audit trail exactly once.
    const changes = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM setting_changes WHERE setting_key = 'race.key'`);
    expect(changes[0]!.n).toBe((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) + (statuses.get(204) ?? 0));
  }, 120_000);
});
