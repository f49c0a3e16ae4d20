/**
 * Credentials and privileges (TEST-MATRIX rows 25 and 26). Row 25 runs on a
 * cluster of the test's own whose pg_hba demands a SCRAM password for one
 * role (the shared server trusts every loopback connection, so a wrong
 * password would pass there); every output is searched for the password in
 * every form. Row 26 runs as an application role without DDL rights.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { startServer, type RunningServer } from '../../../api/test/support/server.js';
import { runCli } from '../support/cli.js';
import { startCluster, type Cluster } from '../support/cluster.js';
import { adminQuery, attempt, testDatabases, type TestDatabase } from '../support/database.js';
import { REPO_ROOT, addMigration, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

/** Special and percent-encoded characters; "Zq9Kx" is a core that also catches a partly masked password. */
const PASSWORD = `Zq9Kx:@/?#&=+ %41;'"\`$é!`;
const WRONG = 'Wr0ngZq:pa%ss#@';
const ROLE = 'digilog_secret';

/** Every form a password could leak in: raw, percent-encoded (both ways), base64, and its distinctive cores. */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), encodeURI(secret), Buffer.from(secret).toString('base64'), secret.slice(0, 5), secret.slice(-6)])];
}
const SECRET_FORMS = [...forms(PASSWORD), ...forms(WRONG)];

/** Occurrences of any secret form in a text (0 expected). */
function leaks(text: string): number {
  return SECRET_FORMS.reduce((n, form) => n + text.split(form).length - 1, 0);
}

describe('[row 25] the password never leaks', () => {
  let cluster: Cluster & { destroyAll(): void };
  const servers: RunningServer[] = [];
  beforeAll(async () => {
    cluster = await startCluster();
    // This role must present its password (SCRAM); postgres keeps trust for the test's own setup.
    const hba = join(cluster.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all ${ROLE} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await adminQuery(`SELECT pg_reload_conf()`, cluster.url());
    await adminQuery(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`, cluster.url());
    await adminQuery(`CREATE DATABASE app OWNER ${ROLE}`, cluster.url());
    await adminQuery(`ALTER SCHEMA public OWNER TO ${ROLE}`, cluster.url('app'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
    cluster?.destroyAll();
  });

  it('[row 25] wrong password, bad host, TLS failure, special characters, ?password=, PGPASSWORD, keyword DSN, debug logging: 0 occurrences anywhere', async () => {
    const base = `127.0.0.1:${cluster.port}/app`;
    const good = `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@${base}`;
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const failing = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n', '20240102000000_bad': 'SELECT 1/0;\n' });
    const fast = { DIGILOG_CONNECT_RETRIES: '0', DIGILOG_CONNECT_TIMEOUT_MS: '3000' };
    const cases: Array<{ label: string; args: string[]; env: Record<string, string>; code: number }> = [
      { label: 'correct password with special characters: migrate', args: ['migrate', '--json', '--migrations-dir', dir], env: { DATABASE_URL: good }, code: 0 },
      { label: 'correct password: status', args: ['status', '--migrations-dir', dir], env: { DATABASE_URL: good }, code: 0 },
      // In a schema of its own, so that the failure does not block the cases below.
      { label: 'correct password: a failing migration', args: ['migrate', '--migrations-dir', failing], env: { DATABASE_URL: `${good}?schema=failing` }, code: EXIT_CODES['migration-sql'] },
      { label: 'correct password: status --json of the failure', args: ['status', '--json', '--migrations-dir', failing], env: { DATABASE_URL: `${good}?schema=failing` }, code: EXIT_CODES['failed-migration'] },
      { label: 'wrong password', args: ['status', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(WRONG)}@${base}` }, code: EXIT_CODES.unreachable },
      { label: 'wrong password --json', args: ['migrate', '--json', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(WRONG)}@${base}` }, code: EXIT_CODES.unreachable },
      { label: 'bad host', args: ['status', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@no-such-host.invalid:5432/app` }, code: EXIT_CODES.unreachable },
      { label: 'closed port', args: ['migrate', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/app` }, code: EXIT_CODES.unreachable },
      { label: 'TLS required, server without TLS', args: ['status', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `${good}?sslmode=require` }, code: EXIT_CODES.unreachable },
      { label: '?password= in the query string', args: ['status', '--migrations-dir', dir], env: { DATABASE_URL: `postgresql://${ROLE}@${base}?password=${encodeURIComponent(PASSWORD)}` }, code: 0 },
      { label: 'wrong ?password=', args: ['status', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}@${base}?password=${encodeURIComponent(WRONG)}` }, code: EXIT_CODES.unreachable },
      { label: 'PGPASSWORD', args: ['status', '--migrations-dir', dir], env: { DATABASE_URL: `postgresql://${ROLE}@${base}`, PGPASSWORD: PASSWORD }, code: 0 },
      { label: 'wrong PGPASSWORD', args: ['status', '--migrations-dir', dir], env: { ...fast, DATABASE_URL: `postgresql://${ROLE}@${base}`, PGPASSWORD: WRONG }, code: EXIT_CODES.unreachable },
      {
        label: 'keyword/value DSN (not accepted: must say so without echoing it)',
        args: ['status', '--migrations-dir', dir],
        env: { DATABASE_URL: `host=127.0.0.1 port=${cluster.port} user=${ROLE} password='${PASSWORD.replace(/'/g, "\\'")}' dbname=app` },
        code: EXIT_CODES.config,
      },
      { label: 'malformed URL with the password', args: ['status'], env: { DATABASE_URL: `postgresql//${ROLE}:${PASSWORD}@${base}` }, code: EXIT_CODES.config },
      {
        label: 'debug logging (DEBUG=*, NODE_DEBUG) on a wrong password',
        args: ['migrate', '--migrations-dir', dir],
        env: { ...fast, DATABASE_URL: `postgresql://${ROLE}:${encodeURIComponent(WRONG)}@${base}`, DEBUG: '*', NODE_DEBUG: 'net,tls,http,pg' },
        code: EXIT_CODES.unreachable,
      },
      { label: 'debug logging on success', args: ['status', '--json', '--migrations-dir', dir], env: { DATABASE_URL: good, DEBUG: '*', NODE_DEBUG: 'net,tls,http,pg' }, code: 0 },
    ];
    const texts: Array<{ where: string; text: string }> = [];
    for (const c of cases) {
      const run = await runCli(c.args, c.env);
      expect({ label: c.label, code: run.code }).toEqual({ label: c.label, code: c.code });
      texts.push({ where: `${c.label}: stdout`, text: run.stdout }, { where: `${c.label}: stderr`, text: run.stderr });
    }
    // The failures say what happened (without the secret).
    const byLabel = (label: string) => texts.find((t) => t.where === `${label}: stderr`)!.text;
    expect(byLabel('wrong password')).toContain('Authentication failed');
    expect(byLabel('TLS required, server without TLS')).toMatch(/TLS|SSL/);
    expect(byLabel('keyword/value DSN (not accepted: must say so without echoing it)')).toMatch(/^Error: DATABASE_URL is not a valid PostgreSQL connection string/);

    // The migrations table, every column of every row.
    const history = await adminQuery('SELECT * FROM public._prisma_migrations UNION ALL SELECT * FROM failing._prisma_migrations', cluster.url('app'));
    expect(history.length).toBe(3);
    texts.push({ where: '_prisma_migrations', text: JSON.stringify(history) });

    // The API: health with the right password, then with a wrong one (it starts degraded outside production).
    for (const [label, url] of [['API, right password', good], ['API, wrong password', `postgresql://${ROLE}:${encodeURIComponent(WRONG)}@${base}`]] as const) {
      const server = await startServer({ DATABASE_URL: url, DIGILOG_CONNECT_RETRIES: '0' }, { cwd: REPO_ROOT });
      servers.push(server);
      for (const path of ['/api/v1/health', '/api/v1/health/db']) {
        const res = await fetch(server.url + path);
        texts.push({ where: `${label} ${path} (${res.status})`, text: await res.text() });
      }
      await server.stop();
      texts.push({ where: `${label}: logs`, text: server.output() });
    }
    expect(texts.find((t) => t.where.startsWith('API, wrong password /api/v1/health/db'))!.where).toContain('503');

    const found = texts.map((t) => ({ where: t.where, n: leaks(t.text) })).filter((t) => t.n > 0);
    expect(found).toEqual([]);
    recordReliability({
      row: 25,
      scenario: 'Password searched for in every output, on a server that checks passwords (SCRAM)',
      fault: 'wrong password, bad host, closed port, sslmode=require without TLS, special/percent-encoded characters, ?password=, PGPASSWORD, keyword DSN, DEBUG/NODE_DEBUG',
      result: `${texts.length} texts searched (stdout, stderr, _prisma_migrations, API health bodies and logs) for ${SECRET_FORMS.length} forms: none found`,
      runners: 1,
      badInputs: cases.filter((c) => !c.label.startsWith('correct password')).length + 1,
      leakedPasswords: found.reduce((n, t) => n + t.n, 0),
    });
  });
});

describe('[row 26] application role without DDL rights', () => {
  const APP = `digilog_app_${process.pid}`;
  const newDatabase = testDatabases();
  const used: TestDatabase[] = [];
  afterAll(async () => {
    // The role's grants live in the database: drop it first (the file's own clean-up runs later, idempotently).
    await Promise.all(used.map((db) => db.drop()));
    await adminQuery(`DROP ROLE IF EXISTS ${APP}`);
  });

  it('[row 26] status works, migrate fails with a clear permissions message, _prisma_migrations is read-only to it', async () => {
    const db = await newDatabase('digilog_app');
    used.push(db);
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE items (id int PRIMARY KEY, name text);\n' });
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    // The usual application grants: read/write its tables, read the history, no CREATE on the schema (PostgreSQL 15 default).
    await adminQuery(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP}') THEN CREATE ROLE ${APP} LOGIN; END IF; END $$`);
    await db.query(`GRANT CONNECT ON DATABASE "${db.name}" TO ${APP}; GRANT USAGE ON SCHEMA public TO ${APP};
      GRANT SELECT, INSERT, UPDATE, DELETE ON items TO ${APP}; GRANT SELECT ON _prisma_migrations TO ${APP};`);
    addMigration(dir, '20240102000000_more', 'CREATE TABLE more_items (id int);\n');
    const app = new URL(db.url);
    app.username = APP;
    const env = { DATABASE_URL: app.toString() };
    const history = () => db.query('SELECT * FROM _prisma_migrations ORDER BY id');
    const before = await history();

    const status = await runCli(['status', '--json', '--migrations-dir', dir], env);
    expect(status.code).toBe(EXIT_CODES.pending);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'pending', pending: ['20240102000000_more'], applied: [{ name: '20240101000000_init' }] });

    const migrate = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(migrate.code).not.toBe(0);
    expect(migrate.stderr.split('\n')[0]).toMatch(/^Error: Permission denied: permission denied for (table _prisma_migrations|schema public)/);
    expect(migrate.stderr).toMatch(/role that owns the schema/);
    expect(migrate.stderr).not.toMatch(/\n\s+at /);
    expect(await db.query(`SELECT to_regclass('more_items') AS t`)).toEqual([{ t: null }]);

    // Directly, the role cannot write the history in any way.
    const attempts = [
      `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('00000000-0000-4000-8000-000000000000', 'x', 'forged')`,
      `UPDATE _prisma_migrations SET checksum = 'x'`,
      `DELETE FROM _prisma_migrations`,
      `TRUNCATE _prisma_migrations`,
      `ALTER TABLE _prisma_migrations ADD COLUMN x int`,
      `CREATE TABLE sneaky (id int)`,
    ];
    const codes = await attempt(app.toString(), attempts);
    expect(codes).toEqual(attempts.map(() => '42501'));
    expect(await history()).toEqual(before);
    const lock = await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(lock).toEqual([]);
    recordReliability({
      row: 26,
      scenario: 'Running as the application role (no CREATE on the schema, SELECT on the history)',
      fault: `migrate with a pending migration, then ${attempts.length} direct writes/DDL on _prisma_migrations and the schema`,
      result: 'status exit 3 with the pending name; migrate one line "Permission denied" with the next step; every direct attempt 42501; history unchanged, no lock left',
      runners: 1,
      badInputs: attempts.length + 1,
    });
  });
});
