/**
 * Which database a command runs on: a missing or empty DATABASE_URL in CI is a
 * config error (never a silent success on a throwaway embedded database) unless
 * the embedded database is asked for; the schema's `url`/`directUrl` and
 * prisma.config.ts's datasource are honoured; `--url` wins over the environment.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { runCli } from '../support/cli.js';
import { adminQuery, testDatabases } from '../support/database.js';
import { REPO_ROOT } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';
import { startServer } from '../../../api/test/support/server.js';

/** The repository's migrations, which every project below copies. */
const PROJECT_NAMES = readMigrations(join(REPO_ROOT, 'prisma', 'migrations')).map((m) => m.name);
const APPLIED_ALL = new RegExp(`Applied ${PROJECT_NAMES.length} migrations?`);

const newDatabase = testDatabases();
/** A URL nobody listens on, with a password that must never be printed. */
const DEAD_URL = 'postgresql://postgres:n0t-Th1s-0ne@127.0.0.1:1/nowhere';

function project(datasource = 'provider = "postgresql"', configFile?: string): { root: string; dataDir: string; args: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-url-'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  const schema = readFileSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8').replace(/datasource db \{[^}]*\}/, `datasource db {\n  ${datasource}\n}`);
  writeFileSync(join(root, 'prisma', 'schema.prisma'), schema);
  if (configFile !== undefined) writeFileSync(join(root, 'prisma.config.ts'), configFile);
  return { root, dataDir: join(root, '.digilog'), args: ['--schema', join(root, 'prisma', 'schema.prisma')] };
}

async function appliedNames(url: string): Promise<string[]> {
  return (await adminQuery<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1', url)).map((r) => r.migration_name);
}

describe('a missing or empty DATABASE_URL where nobody watches', () => {
  it('[row 36] CI=true with DATABASE_URL unset or empty: migrate and status exit 2, no embedded database', { timeout: 120_000 }, async () => {
    const p = project();
    const attempts: Array<{ command: string; env: Record<string, string> }> = [];
    for (const command of ['migrate', 'status']) {
      attempts.push({ command, env: { CI: 'true', DIGILOG_DATA_DIR: p.dataDir } });
      attempts.push({ command, env: { CI: 'true', DATABASE_URL: '', DIGILOG_DATA_DIR: p.dataDir } });
      // NODE_ENV other than development and no terminal (stdin is not a TTY here): unattended too.
      attempts.push({ command, env: { NODE_ENV: 'test', DIGILOG_DATA_DIR: p.dataDir } });
      // Empty is an error everywhere, also interactively outside CI.
      attempts.push({ command, env: { DATABASE_URL: ' ', DIGILOG_DATA_DIR: p.dataDir } });
    }
    for (const attempt of attempts) {
      const run = await runCli([attempt.command, ...p.args], attempt.env);
      expect(run.code, `${attempt.command} ${JSON.stringify(attempt.env)}`).toBe(EXIT_CODES.config);
      expect(run.stdout).toBe('');
      const [first] = run.stderr.split('\n');
      if ('DATABASE_URL' in attempt.env) expect(first).toBe('Error: DATABASE_URL is set but empty (a missing secret?): set it to postgresql://USER:****@HOST:PORT/DATABASE, or unset it');
      else expect(first).toMatch(/^Error: DATABASE_URL is not set \((CI is set|NODE_ENV=test and no terminal)\): refusing to run on a throwaway embedded database$/);
      expect(run.stderr).not.toMatch(/PGlite|Applied/);
    }
    expect(existsSync(p.dataDir)).toBe(false);

    // Asked for explicitly, CI may use the embedded database.
    const flag = await runCli(['status', '--embedded', ...p.args], { CI: 'true', DIGILOG_DATA_DIR: p.dataDir });
    expect(flag.code).toBe(EXIT_CODES.pending);
    const variable = await runCli(['migrate', ...p.args], { CI: 'true', DIGILOG_EMBEDDED: 'true', DIGILOG_DATA_DIR: p.dataDir });
    expect(variable.code).toBe(0);
    expect(variable.stdout).toMatch(APPLIED_ALL);
    recordReliability({
      row: 36,
      scenario: 'Missing or empty DATABASE_URL in CI',
      fault: `${attempts.length} runs of migrate/status with DATABASE_URL unset or empty under CI=true, NODE_ENV=test without a terminal, or blank`,
      result: 'each exit 2 with one line naming DATABASE_URL; no embedded database created; --embedded / DIGILOG_EMBEDDED=true still use it',
      badInputs: attempts.length,
      lostOrDoubled: 0,
    });
  });
});

describe("the README's first command", () => {
  it('pnpm start under CI=true with no DATABASE_URL asks for the embedded database and serves a healthy API', { timeout: 180_000 }, async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'digilog-start-')), '.digilog');
    // Its own process group: pnpm, the shell and the API are stopped together.
    const child = spawn('pnpm', ['start'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', PORT: '0', HOST: '127.0.0.1', DIGILOG_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    try {
      const port = await new Promise<number>((resolvePort, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk;
          const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(output);
          if (match) resolvePort(Number(match[1]));
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        void exited.then((code) => reject(new Error(`pnpm start exited with ${code}:\n${output}`)));
      });
      expect(output).toMatch(APPLIED_ALL);
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/health/db`);
      expect(res.status).toBe(200);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  });
});

describe('the datasource the project names', () => {
  it('Prisma 6 url/directUrl (Vercel Postgres): migrations run on directUrl; an unset variable is exit 2 naming it', async () => {
    const db = await newDatabase('digilog_url_direct');
    const p = project('provider  = "postgresql"\n  url       = env("POSTGRES_PRISMA_URL")\n  directUrl = env("POSTGRES_URL_NON_POOLING")');

    const missing = await runCli(['migrate', ...p.args], { POSTGRES_PRISMA_URL: DEAD_URL, DIGILOG_DATA_DIR: p.dataDir });
    expect(missing.code).toBe(EXIT_CODES.config);
    expect(missing.stderr.split('\n')[0]).toBe(`Error: POSTGRES_URL_NON_POOLING is not set (the datasource's directUrl in ${join(p.root, 'prisma', 'schema.prisma')} reads it)`);
    expect(missing.stdout + missing.stderr).not.toContain('n0t-Th1s-0ne');
    expect(existsSync(p.dataDir)).toBe(false);

    // The pooled URL leads nowhere: only directUrl can have been used.
    const migrate = await runCli(['migrate', ...p.args], { POSTGRES_PRISMA_URL: DEAD_URL, POSTGRES_URL_NON_POOLING: db.url, DIGILOG_DATA_DIR: p.dataDir });
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toMatch(APPLIED_ALL);
    expect(migrate.stderr).not.toMatch(/PGlite/);
    expect(await appliedNames(db.url)).toEqual(PROJECT_NAMES);
    expect(existsSync(p.dataDir)).toBe(false);
  });

  it('the API migrates on directUrl and serves its queries on url', { timeout: 120_000 }, async () => {
    const db = await newDatabase('digilog_url_api');
    const p = project('provider  = "postgresql"\n  url       = env("POSTGRES_PRISMA_URL")\n  directUrl = env("POSTGRES_URL_NON_POOLING")');
    // Both lead to the same database here; the application_name tells the two connections apart.
    const pooled = `${db.url}?application_name=digilog_pooled_url`;
    const server = await startServer({ POSTGRES_PRISMA_URL: pooled, POSTGRES_URL_NON_POOLING: db.url, AUTO_MIGRATE: 'true', DIGILOG_DATA_DIR: p.dataDir }, { cwd: p.root, timeoutMs: 60_000 });
    try {
      const put = await fetch(`${server.url}/api/v1/settings/theme`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'dark' }) });
      expect(put.status).toBe(201);
      const sessions = await adminQuery<{ application_name: string }>(`SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = '${db.name}'`);
      expect(sessions.map((s) => s.application_name)).toContain('digilog_pooled_url');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(await appliedNames(db.url)).toEqual(PROJECT_NAMES);
    expect(existsSync(p.dataDir)).toBe(false);
  });

  it("Prisma 7 prisma.config.ts datasource: { url: env('NAME') } is read without running it", async () => {
    const db = await newDatabase('digilog_url_config');
    const p = project(undefined, `import { defineConfig, env } from 'prisma/config';\nexport default defineConfig({\n  schema: 'prisma/schema.prisma',\n  // datasource: { url: env('NOT_THIS') },\n  datasource: { url: env('APP_DB_URL') },\n});\n`);
    const missing = await runCli(['status', ...p.args], { DIGILOG_DATA_DIR: p.dataDir });
    expect(missing.code).toBe(EXIT_CODES.config);
    expect(missing.stderr.split('\n')[0]).toBe(`Error: APP_DB_URL is not set (the datasource's url in ${join(p.root, 'prisma.config.ts')} reads it)`);

    const migrate = await runCli(['migrate', ...p.args], { APP_DB_URL: db.url, DIGILOG_DATA_DIR: p.dataDir });
    expect(migrate.code).toBe(0);
    expect(await appliedNames(db.url)).toEqual(PROJECT_NAMES);
    expect(existsSync(p.dataDir)).toBe(false);
  });

  it('--url wins over DATABASE_URL and the datasource, and its password is never printed', async () => {
    const db = await newDatabase('digilog_url_flag');
    const p = project('provider = "postgresql"\n  url = env("POSTGRES_PRISMA_URL")');
    const env = { DATABASE_URL: DEAD_URL, POSTGRES_PRISMA_URL: DEAD_URL, DIGILOG_DATA_DIR: p.dataDir };
    const migrate = await runCli(['migrate', '--url', db.url, ...p.args], env);
    expect(migrate.code).toBe(0);
    expect(await appliedNames(db.url)).toEqual(PROJECT_NAMES);

    const secret = 'fl4g-Pa55word';
    const unreachable = await runCli(['status', '--url', `postgresql://postgres:${secret}@127.0.0.1:1/x`, ...p.args], { DIGILOG_CONNECT_RETRIES: '0' });
    expect(unreachable.code).toBe(EXIT_CODES.unreachable);
    expect(unreachable.stdout + unreachable.stderr).not.toContain(secret);
    const invalid = await runCli(['status', '--url', `mysql://root:${secret}@h/db`, ...p.args], {});
    expect(invalid.code).toBe(EXIT_CODES.config);
    expect(invalid.stderr.split('\n')[0]).toBe('Error: --url is not a valid PostgreSQL connection string (expected postgresql://USER:****@HOST:PORT/DATABASE)');
    expect(invalid.stdout + invalid.stderr).not.toContain(secret);
    expect(existsSync(p.dataDir)).toBe(false);
  });
});
