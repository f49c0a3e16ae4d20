/** `generate` with no network at all, and `studio` serving the database's rows. */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/cluster.js';
import { BIN, runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { REPO_ROOT } from '../support/migrations.js';

const newDatabase = testDatabases();

describe('generate and studio', () => {
  it('generate works with no network (a network namespace with no interfaces up)', () => {
    const root = mkdtempSync(join(tmpdir(), 'digilog-gen-'));
    cpSync(join(REPO_ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
    const out = execFileSync('unshare', ['-n', process.execPath, BIN, 'generate', '--schema', join(root, 'prisma', 'schema.prisma')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    });
    expect(out).toContain('Generated Prisma Client');
    expect(existsSync(join(root, 'packages', 'api', 'src', 'generated', 'prisma', 'client.ts'))).toBe(true);
    // Nothing changed: skipped (how fast is `pnpm bench`'s row D4, not an assertion).
    const again = execFileSync(process.execPath, [BIN, 'generate', '--json', '--schema', join(root, 'prisma', 'schema.prisma')], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(JSON.parse(again)).toMatchObject({ ok: true, skipped: true });
  });

  it('studio serves Prisma Studio on the configured database', async () => {
    const db = await newDatabase('digilog_studio');
    expect((await runCli(['migrate'], { DATABASE_URL: db.url })).code).toBe(0);
    await db.query(`INSERT INTO settings (id, key, value, updated_at) VALUES (gen_random_uuid(), 'studio.visible', '1', now())`);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'studio', '--port', String(port)], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    try {
      let rows: unknown = null;
      for (let i = 0; i < 100 && rows === null; i++) {
        await new Promise((r) => setTimeout(r, 200));
        // Studio's own query endpoint, as its page uses it.
        rows = await fetch(`http://127.0.0.1:${port}/bff`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ procedure: 'query', query: { sql: 'SELECT key FROM settings', parameters: [] } }),
        }).then((r) => r.json(), () => null);
      }
      expect(rows).toEqual([null, [{ key: 'studio.visible' }]]);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
      // Studio stopped with digilog-db: its port is free again.
      const stillServing = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
      expect(stillServing).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
