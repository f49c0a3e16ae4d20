/**
 * The embedded default: with no DATABASE_URL, the whole flow (migrate,
 * status, dev, seed, the API's health) runs on PGlite in a temp folder;
 * with NODE_ENV=production a missing DATABASE_URL is a config error.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/migrations.js';
import { startServer } from '../../../api/test/support/server.js';

describe('embedded PGlite default', () => {
  it('migrate, status, dev, seed and the API work with no DATABASE_URL', async () => {
    const root = mkdtempSync(join(tmpdir(), 'digilog-embedded-'));
    const schema = join(root, 'prisma', 'schema.prisma');
    cpSync(join(REPO_ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
    const env = { DIGILOG_DATA_DIR: join(root, '.digilog') };
    const args = ['--schema', schema];

    const migrate = await runCli(['migrate', ...args], env);
    expect(migrate.code).toBe(0);
    expect(migrate.stderr).toMatch(/DATABASE_URL is not set: using the embedded PostgreSQL \(PGlite\)/);
    const status = await runCli(['status', '--json', ...args], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).state).toBe('upToDate');

    writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?'));
    const dev = await runCli(['dev', '--name', 'add_owner', '--json', ...args], env);
    expect(dev.code).toBe(0);
    expect(JSON.parse(dev.stdout)).toMatchObject({ action: 'created-and-applied' });
    expect((await runCli(['status', ...args], env)).code).toBe(0);

    // The seed script imports the generated client by its path in this repository.
    const seed = await runCli(['seed', '--schema', join(REPO_ROOT, 'prisma', 'schema.prisma')], env);
    expect(seed.code).toBe(0);
    expect(seed.stdout).toMatch(/Seeded \d+ new settings/);

    const server = await startServer({ ...env, AUTO_MIGRATE: 'true' }, { cwd: root });
    try {
      const res = await fetch(`${server.url}/api/v1/health/db`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { database: { details: { appliedCount: number } } };
      // The repository's migrations and add_owner.
      expect(body.database.details.appliedCount).toBe(readMigrations(join(REPO_ROOT, 'prisma', 'migrations')).length + 1);
      const settings = (await (await fetch(`${server.url}/api/v1/settings?limit=100`)).json()) as { items: unknown[] };
      expect(settings.items.length).toBeGreaterThan(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('NODE_ENV=production without DATABASE_URL is a config error (exit 2), never the embedded database', async () => {
    const run = await runCli(['status'], { NODE_ENV: 'production', DIGILOG_DATA_DIR: mkdtempSync(join(tmpdir(), 'digilog-noembed-')) });
    expect(run.code).toBe(EXIT_CODES.config);
    expect(run.stderr).toMatch(/^Error: DATABASE_URL is not set \(required with NODE_ENV=production\)/);
    expect(run.stderr).not.toMatch(/PGlite/);
  });
});
