/**
 * Least privilege (TEST-MATRIX row 26): `digilog-db roles` creates a migration
 * role and an application role on a cluster of the test's own whose pg_hba
 * demands their SCRAM passwords (so the verifiers --apply sends are really
 * checked). Migrations run as the migrator; the application role can read and
 * write the settings tables, also those a later migration creates, but can
 * neither run DDL nor write `_prisma_migrations`; the real API server queries
 * as the app and migrates at boot on DIRECT_URL. No password in any output.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { rolesPlan } from '../../src/admin/roles.js';
import { createKey } from '../../../api/test/support/api-keys.js';
import { startServer, type RunningServer } from '../../../api/test/support/server.js';
import { runCli, type CliRun } from '../support/cli.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { adminQuery, attempt } from '../support/database.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { REPO_ROOT, addMigration } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const MIGRATOR = 'digilog_migrator';
const APP = 'digilog_app';
/** Special characters, percent-encoded in URLs; "Mg7Qx"/"Ap4Wz" are cores a partial leak would still show. */
const PASSWORDS = { migrator: `Mg7Qx:@/?#&= %41;'"é!`, app: `Ap4Wz$%&+\`~ü=` };
const PASSWORD_ENV = { DIGILOG_MIGRATOR_PASSWORD: PASSWORDS.migrator, DIGILOG_APP_PASSWORD: PASSWORDS.app };

function leaks(text: string): string[] {
  const forms = Object.values(PASSWORDS).flatMap((p) => [p, encodeURIComponent(p), p.slice(0, 5), p.slice(-5)]);
  return forms.filter((form) => text.includes(form));
}

/** A copy of the repository's prisma/ folder and prisma.config.ts (no directUrl: DIRECT_URL applies). */
function project(): { root: string; migrations: string; args: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-roles-'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), readFileSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8'));
  // The repository's own layout: prisma.config.ts's datasource reads DATABASE_URL, DIRECT_URL comes beside it.
  cpSync(join(REPO_ROOT, 'prisma.config.ts'), join(root, 'prisma.config.ts'));
  return { root, migrations: join(root, 'prisma', 'migrations'), args: ['--schema', join(root, 'prisma', 'schema.prisma')] };
}

const HISTORY_WRITES = [
  `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('00000000-0000-4000-8000-000000000000', 'x', 'forged')`,
  `UPDATE _prisma_migrations SET checksum = 'x'`,
  `DELETE FROM _prisma_migrations`,
  `TRUNCATE _prisma_migrations`,
];

describe('[row 26] digilog-db roles: a migration role and an application role', () => {
  let cluster: Cluster & { destroyAll(): void };
  const outputs: Array<{ where: string; text: string }> = [];
  const servers: RunningServer[] = [];
  const record = (where: string, run: CliRun) => outputs.push({ where: `${where}: stdout`, text: run.stdout }, { where: `${where}: stderr`, text: run.stderr });
  const roleUrl = (role: 'migrator' | 'app', database: string) => `postgresql://${role === 'migrator' ? MIGRATOR : APP}:${encodeURIComponent(PASSWORDS[role])}@127.0.0.1:${cluster.port}/${database}`;

  beforeAll(async () => {
    cluster = await startCluster();
    const hba = join(cluster.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all ${MIGRATOR},${APP} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await adminQuery('SELECT pg_reload_conf()', cluster.url());
    await adminQuery('CREATE DATABASE fresh', cluster.url());
    await adminQuery('CREATE DATABASE legacy', cluster.url());
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    cluster?.destroyAll();
  });

  it('prints the plan with placeholders (default and --json), refuses bad input without changing anything', async () => {
    const printed = await runCli(['roles'], PASSWORD_ENV);
    record('roles', printed);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain(`ALTER ROLE "${MIGRATOR}" PASSWORD '<DIGILOG_MIGRATOR_PASSWORD>';`);
    expect(printed.stdout).toContain(`ALTER DEFAULT PRIVILEGES FOR ROLE "${MIGRATOR}" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "${APP}";`);

    const json = await runCli(['roles', '--print', '--json', '--migrator', 'mig', '--app', 'web', '--url', `${cluster.url('fresh')}?schema=tenant`], PASSWORD_ENV);
    record('roles --json', json);
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout);
    expect(Object.keys(document)).toEqual(['schemaVersion', 'ok', 'action', 'database', 'schema', 'migrator', 'app', 'statements']);
    expect(document).toMatchObject({
      ok: true,
      action: 'print',
      database: null,
      schema: 'tenant',
      migrator: { name: 'mig', passwordVariable: 'DIGILOG_MIGRATOR_PASSWORD', passwordSet: false, created: null },
      app: { name: 'web', passwordVariable: 'DIGILOG_APP_PASSWORD', passwordSet: false, created: null },
    });
    expect(document.statements).toEqual(rolesPlan({ migrator: 'mig', app: 'web', schema: 'tenant' }).map((s) => s.sql));

    const bad: Array<{ args: string[]; env: Record<string, string>; first: RegExp }> = [
      { args: ['roles', '--print', '--apply'], env: PASSWORD_ENV, first: /^Error: --print and --apply cannot be combined$/ },
      { args: ['roles', '--app', 'Web-App'], env: PASSWORD_ENV, first: /^Error: --app "Web-App" is not a usable role name$/ },
      { args: ['roles', '--app', MIGRATOR], env: PASSWORD_ENV, first: /^Error: --migrator and --app must be two different roles$/ },
      { args: ['roles', '--apply'], env: PASSWORD_ENV, first: /^Error: roles --apply needs a superuser URL/ },
      { args: ['roles', '--apply'], env: { DATABASE_URL: cluster.url('fresh'), DIGILOG_MIGRATOR_PASSWORD: PASSWORDS.migrator }, first: /^Error: DIGILOG_APP_PASSWORD is not set: role "digilog_app" does not exist yet and needs a password$/ },
      { args: ['roles', '--apply', '--app', 'postgres'], env: { ...PASSWORD_ENV, DATABASE_URL: cluster.url('fresh') }, first: /^Error: Role "postgres" is a superuser: it cannot become the application role$/ },
      { args: ['roles', '--apply', '--url', 'mysql://root@h/x'], env: PASSWORD_ENV, first: /^Error: --url is not a valid PostgreSQL connection string/ },
    ];
    for (const c of bad) {
      const run = await runCli(c.args, c.env);
      record(c.args.join(' '), run);
      expect({ args: c.args, code: run.code, first: run.stderr.split('\n')[0] }).toEqual({ args: c.args, code: EXIT_CODES.usage, first: expect.stringMatching(c.first) });
    }
    expect(await adminQuery(`SELECT rolname FROM pg_roles WHERE rolname IN ('${MIGRATOR}', '${APP}', 'mig', 'web')`, cluster.url())).toEqual([]);
  });

  it('[row 26] --apply, then migrate as the migrator; the app role does DML on the settings tables only, a later table included', { timeout: 180_000 }, async () => {
    const p = project();
    const apply = await runCli(['roles', '--apply', '--json'], { ...PASSWORD_ENV, DATABASE_URL: cluster.url('fresh') });
    record('roles --apply --json', apply);
    expect(apply.code, apply.stderr).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({
      ok: true,
      action: 'apply',
      database: `127.0.0.1:${cluster.port}/fresh`,
      schema: 'public',
      migrator: { name: MIGRATOR, created: true, passwordSet: true },
      app: { name: APP, created: true, passwordSet: true },
    });
    // Running it again changes nothing and keeps the passwords when their variables are unset.
    const again = await runCli(['roles', '--apply'], { DATABASE_URL: cluster.url('fresh') });
    record('roles --apply again', again);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Updated role ${APP} (password unchanged)`);

    // The migrator logs in with its password (SCRAM) and creates the history table itself.
    const migrate = await runCli(['migrate', ...p.args], { DATABASE_URL: roleUrl('app', 'fresh'), DIRECT_URL: roleUrl('migrator', 'fresh') });
    record('migrate', migrate);
    expect(migrate.code, migrate.stderr).toBe(0);
    const owners = await adminQuery<{ relname: string; owner: string }>(`SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('settings', 'setting_changes', '_prisma_migrations') ORDER BY 1`, cluster.url('fresh'));
    expect(owners).toEqual([
      { relname: '_prisma_migrations', owner: MIGRATOR },
      { relname: 'setting_changes', owner: MIGRATOR },
      { relname: 'settings', owner: MIGRATOR },
    ]);

    const app = roleUrl('app', 'fresh');
    const crud = [
      `INSERT INTO settings (id, key, value, updated_at) VALUES ('00000000-0000-4000-8000-000000000001', 'theme', '"dark"', now())`,
      `UPDATE settings SET value = '"light"' WHERE key = 'theme'`,
      `SELECT * FROM settings`,
      `INSERT INTO setting_changes (setting_key, new_value) VALUES ('theme', '"light"')`,
      `DELETE FROM settings WHERE key = 'theme'`,
      `SELECT * FROM _prisma_migrations`,
    ];
    expect(await attempt(app, crud)).toEqual(crud.map(() => 'ok'));
    const forbidden = [...HISTORY_WRITES, `CREATE TABLE sneaky (id int)`, `ALTER TABLE settings ADD COLUMN x int`, `DROP TABLE setting_changes`, `TRUNCATE settings`, `CREATE SCHEMA other`];
    expect(await attempt(app, forbidden)).toEqual(forbidden.map(() => '42501'));

    // The real API server: queries as the app role, migrates a pending migration at boot on DIRECT_URL.
    addMigration(p.migrations, '20270101000000_later', 'CREATE TABLE "later_items" ("id" SERIAL PRIMARY KEY, "name" TEXT NOT NULL);\n');
    const server = await startServer({ DATABASE_URL: app, DIRECT_URL: roleUrl('migrator', 'fresh'), AUTO_MIGRATE: 'true' }, { cwd: p.root, timeoutMs: 90_000 });
    servers.push(server);
    const put = await fetch(`${server.url}/api/v1/settings/theme`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'dark' }) });
    expect(put.status).toBe(201);
    const sessions = await adminQuery<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'fresh' AND usename <> 'postgres'`, cluster.url());
    // The API's queries; its health checks read the history on DIRECT_URL, as status does.
    expect(sessions).toContainEqual({ usename: APP });
    expect(await server.stop()).toBe(0);
    outputs.push({ where: 'API logs', text: server.output() });
    expect(await adminQuery(`SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'later_items'`, cluster.url('fresh'))).toEqual([{ owner: MIGRATOR }]);

    // Default privileges cover the later table; the history stays read-only to the app.
    const later = [`INSERT INTO later_items (name) VALUES ('a')`, `UPDATE later_items SET name = 'b'`, `SELECT * FROM later_items`, `DELETE FROM later_items`];
    expect(await attempt(app, [...later, ...HISTORY_WRITES])).toEqual([...later.map(() => 'ok'), ...HISTORY_WRITES.map(() => '42501')]);
    expect((await adminQuery(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`, cluster.url('fresh'))).map((r) => r.migration_name)).toEqual(readMigrations(p.migrations).map((m) => m.name)); // the project's migrations, then the later one

    // With only the app's URL (a separate migrate service ran before), production boots on an up-to-date schema.
    const appOnly = await startServer({ DATABASE_URL: app, NODE_ENV: 'production' }, { cwd: p.root, timeoutMs: 90_000 });
    servers.push(appOnly);
    // Production requires a key; the application role can make one (DML on api_keys).
    const { headers } = await createKey(app, ['settings:read']);
    expect((await fetch(`${appOnly.url}/api/v1/settings/theme`, { headers })).status).toBe(200);
    expect(await appOnly.stop()).toBe(0);
    outputs.push({ where: 'API logs, app URL only', text: appOnly.output() });

    recordReliability({
      row: 26,
      scenario: 'digilog-db roles --apply: migrations as the migration role, the API as the application role',
      fault: `${forbidden.length} DDL/history writes as the app role, then a later migration applied at boot on DIRECT_URL`,
      result: 'migrator owns every table; app: CRUD on settings and the later table, 42501 on every DDL and history write; API boots and serves as the app',
      runners: 1,
      badInputs: forbidden.length + HISTORY_WRITES.length,
    });
  });

  it('a schema migrated as a superuser before: --apply hands it to the migrator and closes the history to the app', { timeout: 120_000 }, async () => {
    const p = project();
    const first = await runCli(['migrate', ...p.args], { DATABASE_URL: cluster.url('legacy') });
    expect(first.code, first.stderr).toBe(0);
    // A write grant someone gave by hand, which --apply must take back.
    await adminQuery(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP}') THEN CREATE ROLE ${APP}; END IF; END $$`, cluster.url());
    await adminQuery(`GRANT ALL ON _prisma_migrations TO ${APP}`, cluster.url('legacy'));
    const apply = await runCli(['roles', '--apply'], { ...PASSWORD_ENV, DATABASE_URL: cluster.url('legacy') });
    record('roles --apply legacy', apply);
    expect(apply.code, apply.stderr).toBe(0);
    const owners = await adminQuery<{ name: string; owner: string }>(
      `SELECT relname::text AS name, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','S')
       UNION ALL SELECT typname::text, pg_get_userbyid(typowner) FROM pg_type WHERE typname = 'SettingScope' ORDER BY 1`,
      cluster.url('legacy'),
    );
    expect(owners.filter((o) => o.owner !== MIGRATOR)).toEqual([]);
    expect(owners.map((o) => o.name)).toContain('setting_changes_id_seq');

    addMigration(p.migrations, '20270101000000_later', 'ALTER TYPE "SettingScope" ADD VALUE \'USER\';\nCREATE TABLE "later_items" ("id" SERIAL PRIMARY KEY);\n');
    const migrate = await runCli(['migrate', ...p.args], { DIRECT_URL: roleUrl('migrator', 'legacy') });
    record('migrate legacy', migrate);
    expect(migrate.code, migrate.stderr).toBe(0);
    const app = roleUrl('app', 'legacy');
    expect(await attempt(app, [`INSERT INTO later_items DEFAULT VALUES`, `SELECT count(*) FROM settings`, ...HISTORY_WRITES, 'CREATE TABLE sneaky (id int)'])).toEqual(['ok', 'ok', ...HISTORY_WRITES.map(() => '42501'), '42501']);
  });

  it('no password in any output', () => {
    expect(outputs.length).toBeGreaterThan(20);
    expect(outputs.map((o) => ({ where: o.where, leaks: leaks(o.text) })).filter((o) => o.leaks.length > 0)).toEqual([]);
  });
});
