/**
 * TEST-MATRIX row 29 against a real PgBouncer (Debian's package, pool_mode=transaction, its
 * defaults otherwise): session-level advisory locks do not follow the client, so `migrate`
 * through it must be refused with an explanation, leaving no lock and no change behind.
 * PgBouncer opens server connections on demand and gives a lone client the same one again,
 * so the lock check must not rely on the session changing process (it would not here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PRISMA_ADVISORY_LOCK_KEY } from '../../src/db/lock.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { countLostOrDoubled, migrationLockRows } from '../support/counting.js';
import { ADMIN_URL, testDatabases } from '../support/database.js';
import { REPO_ROOT, writeMigrations } from '../support/migrations.js';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();
let pgbouncer: PgBouncer;
beforeAll(async () => {
  pgbouncer = await startPgBouncer({ upstreamPort: Number(new URL(ADMIN_URL).port || 5432), poolMode: 'transaction' });
});
afterAll(async () => {
  await pgbouncer?.stop();
});

describe('[row 29] real PgBouncer, pool_mode=transaction', () => {
  it('[row 29] migrate through PgBouncer (transaction mode) is refused with an explanation; no lock, table or row left behind', async () => {
    const db = await newDatabase('digilog_pgbouncer');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE pooled (id int);\n' });
    const env = { DATABASE_URL: pgbouncer.pooled(db.url), DIGILOG_CONNECT_RETRIES: '0' };

    const runs = [await runCli(['migrate', '--migrations-dir', dir], env), await runCli(['migrate', '--json', '--migrations-dir', dir], env)];
    for (const run of runs) expect(run.code, `${run.stdout}${run.stderr}\n${pgbouncer.log()}`).toBe(EXIT_CODES.config);
    expect(runs[0]!.stderr).toContain('transaction-pooling proxy');
    expect(runs[0]!.stderr).toContain('direct connection');
    const error = JSON.parse(runs[1]!.stdout).error;
    expect(error.details).toMatchObject({ released: true });
    // The pids are PgBouncer's server connections: the lock was really taken on one of them.
    expect(await pgbouncer.serverPids(db.name)).toContain(error.details.lockPid);

    // Nothing changed, and the lock was given back.
    expect(await db.query(`SELECT to_regclass('pooled') AS t, to_regclass('_prisma_migrations') AS m`)).toEqual([{ t: null, m: null }]);
    expect(await migrationLockRows(db.query)).toEqual([]);
    // Read-only commands still work through the pooler; DIRECT_URL beside the pooled DATABASE_URL migrates.
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(EXIT_CODES.pending);
    const direct = await runCli(['migrate', '--migrations-dir', dir], { ...env, DIRECT_URL: db.url });
    expect(direct.code, `${direct.stdout}${direct.stderr}`).toBe(0);
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(0);
    const lostOrDoubled = await countLostOrDoubled(db.query, ['20240101000000_init']);
    expect(lostOrDoubled).toBe(0);
    recordReliability({
      row: 29,
      scenario: `migrate through a real PgBouncer ${pgbouncer.version} in pool_mode=transaction (default pool settings)`,
      fault: '2 runs through the pooler',
      result: `both refused (exit ${EXIT_CODES.config}) naming transaction pooling and the fix; lock ${PRISMA_ADVISORY_LOCK_KEY} released; nothing applied; status through it and migrate with DIRECT_URL work`,
      runners: 2,
      badInputs: 2,
      lostOrDoubled,
    });
  });

  it.each([3, 1])('a session-mode PgBouncer (pool of %i) keeps the session on one server process: migrate through it works', async (poolSize) => {
    // With a pool of 1 the lock check's second connection is queued by PgBouncer: it gives up after a few seconds.
    const session = await startPgBouncer({ upstreamPort: Number(new URL(ADMIN_URL).port || 5432), poolMode: 'session', poolSize });
    try {
      const db = await newDatabase('digilog_pgbouncer_session');
      const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE pooled (id int);\n' });
      const run = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: session.pooled(db.url), DIGILOG_CONNECT_RETRIES: '0' });
      expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
      expect(await countLostOrDoubled(db.query, ['20240101000000_init'])).toBe(0);
      expect(await migrationLockRows(db.query)).toEqual([]);
    } finally {
      await session.stop();
    }
  });
});

describe('DIRECT_URL', () => {
  it('is the URL migrate uses (an unreachable one is exit 8, its password never printed); an invalid one is exit 2 naming it', async () => {
    const db = await newDatabase('digilog_direct_url');
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE pooled (id int);\n' });
    const password = 'Direct-S3cret_pw';
    const unreachable = await runCli(['migrate', '--migrations-dir', dir], {
      DATABASE_URL: db.url,
      DIRECT_URL: `postgresql://postgres:${password}@127.0.0.1:1/${db.name}`,
      DIGILOG_CONNECT_RETRIES: '0',
    });
    expect(unreachable.code).toBe(EXIT_CODES.unreachable);
    expect(unreachable.stdout + unreachable.stderr).not.toContain(password);
    expect(await db.query(`SELECT to_regclass('_prisma_migrations') AS m`)).toEqual([{ m: null }]);
    const invalid = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url, DIRECT_URL: 'mysql://x@localhost/db' });
    expect(invalid.code).toBe(EXIT_CODES.config);
    expect(invalid.stderr.split('\n')[0]).toMatch(/^Error: DIRECT_URL /);
  });
});

describe('docker-compose.prod.yml: PgBouncer in front of the app', () => {
  const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
  it('the app queries through pgbouncer (transaction mode, pinned image, not published) and migrates on DIRECT_URL', () => {
    const { services } = parse(read('docker-compose.prod.yml')) as { services: Record<string, any> };
    const { pgbouncer: pooler, app } = services;
    expect(pooler.image).toMatch(/^edoburu\/pgbouncer:v\d+\.\d+\.\d+-p\d+$/);
    expect(pooler.environment.POOL_MODE).toBe('transaction');
    expect(pooler.ports).toBeUndefined();
    // It logs in upstream as the application role (the image reads DATABASE_URL, which for the app is the pooler itself).
    expect(pooler.env_file).toBe('.env.app');
    expect(pooler.entrypoint.join(' ')).toContain('DATABASE_URL="$$PGBOUNCER_UPSTREAM_URL"');
    expect(pooler.depends_on.postgres.condition).toBe('service_healthy');
    expect(app.depends_on.pgbouncer.condition).toBe('service_healthy');
    const url = (file: string, name: string) => new URL(new RegExp(`^${name}=(.+)$`, 'm').exec(read(file))![1]!);
    expect(url('.env.app.example', 'DATABASE_URL').host).toBe('pgbouncer:5432');
    expect(url('.env.app.example', 'PGBOUNCER_UPSTREAM_URL').host).toBe('postgres:5432');
    expect(url('.env.app.example', 'PGBOUNCER_UPSTREAM_URL').username).toBe(url('.env.app.example', 'DATABASE_URL').username);
    // Migrations go straight to PostgreSQL, as the migration role (the migrate service).
    expect(url('.env.migrate.example', 'DIRECT_URL').host).toBe('postgres:5432');
    expect(url('.env.app.example', 'DATABASE_URL').pathname).toBe(url('.env.migrate.example', 'DIRECT_URL').pathname);
  });
});
