/**
 * The Docker image without a Docker engine: the runtime stage's exact contents are built
 * with the Dockerfile's own command (`pnpm deploy --prod`) plus its COPY lines, and the
 * image's entry script runs them against the real PostgreSQL: migrate, serve, answer the
 * HEALTHCHECK, stop on SIGTERM with 0. A failed migration stops before the API; SIGTERM
 * while migrating reaches digilog-db (current migration finished, exit 11).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/cluster.js';
import { testDatabases } from '../support/database.js';
import { readMigrations } from '../../src/read/migrations-folder.js';
import { PROJECT_MIGRATIONS, REPO_ROOT, writeMigrations } from '../support/migrations.js';

const createDatabase = testDatabases();
const ENTRYPOINT = join(REPO_ROOT, 'deploy', 'entrypoint.sh');
const temporary: string[] = [];
afterAll(() => temporary.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Entry {
  child: ChildProcess;
  output: () => string;
  lines: () => Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs the entry script as the image does (tini aside): cwd is the app folder. */
function runEntrypoint(cwd: string, env: Record<string, string>, args: string[] = []): Entry {
  const child = spawn(ENTRYPOINT, args, { cwd, env: { HOME: process.env.HOME, NODE_ENV: 'production', LOG_FORMAT: 'json', HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () => output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  return { child, output: () => output, lines, exited };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const healthcheck = (app: string, port: number): number => {
  try {
    execFileSync(process.execPath, [join(app, 'deploy', 'healthcheck.mjs')], { env: { PORT: String(port) }, stdio: 'ignore' });
    return 0;
  } catch (error) {
    return (error as { status: number }).status;
  }
};

describe('the runtime image, assembled as the Dockerfile does', () => {
  /** The assembled /app folder, shared by the tests below. */
  let imageApp = '';

  it('pnpm deploy --prod: the API, @digilog/db with its WebAssembly engines, and no devDependency', () => {
    const app = join(mkdtempSync(join(tmpdir(), 'digilog-image-')), 'app');
    temporary.push(dirname(app));
    // The Dockerfile's build-stage command. Prefer-offline, not offline: the store holds every
    // package after the install, but a frozen-lockfile install on a fresh machine caches no
    // registry metadata, which the legacy deploy reads and then fetches.
    execFileSync('pnpm', ['--filter', '@digilog/api', 'deploy', '--prod', '--legacy', '--prefer-offline', app], { cwd: REPO_ROOT, stdio: 'ignore' });
    // The runtime stage's other COPY lines.
    cpSync(join(REPO_ROOT, 'prisma'), join(app, 'prisma'), { recursive: true });
    for (const file of ['entrypoint.sh', 'healthcheck.mjs']) cpSync(join(REPO_ROOT, 'deploy', file), join(app, 'deploy', file));

    const api = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/api/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const topLevel = readdirSync(join(app, 'node_modules'))
      .filter((entry) => !entry.startsWith('.'))
      .flatMap((entry) => (entry.startsWith('@') ? readdirSync(join(app, 'node_modules', entry)).map((name) => `${entry}/${name}`) : [entry]));
    expect(topLevel.sort()).toEqual(Object.keys(api.dependencies).sort());
    const installed = readdirSync(join(app, 'node_modules', '.pnpm'));
    for (const devOnly of ['vitest', 'turbo', 'autocannon', '@types+express', 'dockerfile-ast', 'yaml']) {
      expect(installed.filter((dir) => dir.startsWith(`${devOnly}@`))).toEqual([]);
    }
    // Only the compiled API (package.json "files"), not its sources or tests.
    expect(readdirSync(app).sort()).toEqual(['deploy', 'dist', 'node_modules', 'package.json', 'prisma']);
    const db = realpathSync(join(app, 'node_modules', '@digilog', 'db'));
    expect(existsSync(join(db, 'dist', 'cli.bundle.mjs'))).toBe(true);
    const engine = join(db, '..', '..', '@prisma', 'schema-engine-wasm');
    expect(readdirSync(engine, { recursive: true }).some((f) => String(f).endsWith('.wasm'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '.bin', 'digilog-db'))).toBe(true);
    imageApp = app;
  });

  it('entry script: migrates, starts the API, passes the HEALTHCHECK, and SIGTERM stops it with exit 0', async () => {
    expect(imageApp).not.toBe('');
    const db = await createDatabase('digilog_ops_image', { create: false });
    const port = await freePort();
    expect(healthcheck(imageApp, port)).toBe(1);
    const entry = runEntrypoint(imageApp, {
      PATH: `${join(imageApp, 'node_modules', '.bin')}:${process.env.PATH}`,
      DATABASE_URL: db.url,
      PORT: String(port),
    });
    await until(() => healthcheck(imageApp, port) === 0 || entry.child.exitCode !== null, 30_000, 'a healthy API');
    expect(healthcheck(imageApp, port)).toBe(0);
    // The healthcheck ran synchronously: let the output that arrived meanwhile be read.
    await until(() => entry.output().includes('"msg":"listening"'), 5_000, 'the listening line');
    const events = entry.lines().map((l) => `${l.service}:${l.event ?? l.msg}`);
    expect(events.slice(0, 2)).toEqual(['entrypoint:entrypoint.migrate', 'digilog-db:migration.lock_acquired']);
    expect(events).toContain('digilog-db:migration.finished');
    expect(events).toContain('entrypoint:entrypoint.start');
    // exec: the API replaced the script (same pid), so SIGTERM to the script is SIGTERM to the API.
    expect(entry.lines().find((l) => l.msg === 'listening')?.pid).toBe(entry.child.pid);
    // `docker exec -it digilog-app-prod digilog-db status` (docs/operations.md): the image's PATH and
    // WORKDIR (/app) find digilog-db and the migrations, with DATABASE_URL from the container's env.
    const status = spawnSync('digilog-db', ['status'], { cwd: imageApp, encoding: 'utf8', env: { PATH: `${join(imageApp, 'node_modules', '.bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME, DATABASE_URL: db.url, NO_COLOR: '1' } });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout + status.stderr).toMatch(/up to date/i);
    entry.child.kill('SIGTERM');
    expect(await entry.exited).toBe(0);
    expect(entry.lines().at(-1)?.msg).toBe('stopped');
    const rows = await db.query<{ migration_name: string; finished_at: Date | null }>('SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name');
    // Every project migration applied once, and finished.
    expect(rows.map((r) => r.migration_name)).toEqual(readMigrations(PROJECT_MIGRATIONS).map((m) => m.name));
    for (const row of rows) expect(row.finished_at).not.toBeNull();
  });
});

describe('the cli image (docker build --target cli), assembled as the Dockerfile does', () => {
  it('digilog-db alone with production dependencies, on PATH, migrates and reports status from /app', async () => {
    const root = mkdtempSync(join(tmpdir(), 'digilog-cli-image-'));
    temporary.push(root);
    const opt = join(root, 'opt', 'digilog-db');
    // The build stage's command for the cli target, then the cli stage's COPY and ln lines.
    execFileSync('pnpm', ['--filter', '@digilog/db', 'deploy', '--prod', '--legacy', '--prefer-offline', opt], { cwd: REPO_ROOT, stdio: 'ignore' });
    const bin = join(root, 'usr', 'local', 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(opt, 'bin', 'digilog-db.js'), join(bin, 'digilog-db'));
    const app = join(root, 'app');
    const dir = writeMigrations({ '20240101000000_one': 'CREATE TABLE one (id int);' });
    cpSync(dirname(dir), join(app, 'prisma'), { recursive: true });

    // The workspace's test and API packages stay out (esbuild does come, through tsx: a production dependency).
    const installed = readdirSync(join(opt, 'node_modules', '.pnpm'));
    for (const devOnly of ['vitest', 'turbo', 'autocannon', 'dockerfile-ast', 'express', 'kubernetes-models', '@digilog+api']) expect(installed.filter((d) => d.startsWith(`${devOnly}@`)), devOnly).toEqual([]);
    expect(existsSync(join(opt, 'dist', 'cli.bundle.mjs'))).toBe(true);

    const db = await createDatabase('digilog_ops_cli_image', { create: false });
    // PATH as in the image: no repository node_modules/.bin, only the symlink.
    const run = (args: string[]) =>
      spawnSync('digilog-db', args, { cwd: app, encoding: 'utf8', env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME, DATABASE_URL: db.url, NODE_ENV: 'production', LOG_FORMAT: 'json' } });
    const migrate = run(['migrate']);
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(run(['status']).status).toBe(0);
    expect(await db.query('SELECT migration_name FROM _prisma_migrations')).toEqual([{ migration_name: '20240101000000_one' }]);
  });
});

describe('entry script failure paths (from the repository build)', () => {
  const env = (databaseUrl: string) => ({
    PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    APP_ENTRY: join(REPO_ROOT, 'packages', 'api', 'dist', 'server.js'),
    DATABASE_URL: databaseUrl,
    PORT: '0',
  });

  it('a failed migration stops the container with exit 6 before the API starts; arguments run instead of the API', async () => {
    const db = await createDatabase('digilog_ops_entry');
    const dir = writeMigrations({ '20240101000000_ok': 'CREATE TABLE a (id int);', '20240102000000_bad': 'CREATE TABLE b (id int);\nSELECT * FROM missing_table;' });
    const root = dirname(dirname(dir));
    const entry = runEntrypoint(root, env(db.url));
    expect(await entry.exited).toBe(6);
    const lines = entry.lines();
    expect(lines.find((l) => l.event === 'migration.failed')).toMatchObject({ migration: '20240102000000_bad', exitCode: 6, sqlState: '42P01' });
    expect(lines.at(-1)).toMatchObject({ service: 'entrypoint', event: 'entrypoint.migrate_failed' });
    expect(entry.output()).not.toContain('listening');
    // `docker run IMAGE digilog-db status`: the arguments replace the API; status says the same (exit 6).
    const status = runEntrypoint(root, { ...env(db.url), LOG_FORMAT: 'pretty' }, ['digilog-db', 'status']);
    expect(await status.exited).toBe(6);
    expect(status.output()).toContain('20240102000000_bad');
  });

  it('SIGTERM while migrating reaches digilog-db: the current migration finishes, the next does not start, exit 11', async () => {
    const db = await createDatabase('digilog_ops_signal');
    const dir = writeMigrations({
      '20240101000000_slow': 'SELECT pg_sleep(2);\nCREATE TABLE slow_done (id int);',
      '20240102000000_next': 'CREATE TABLE never_started (id int);',
    });
    const entry = runEntrypoint(dirname(dirname(dir)), env(db.url));
    await until(() => entry.output().includes('"event":"migration.started"'), 15_000, 'the first migration to start');
    entry.child.kill('SIGTERM');
    expect(await entry.exited).toBe(11);
    const rows = await db.query<{ migration_name: string; finished_at: Date | null }>('SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name');
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null])).toEqual([['20240101000000_slow', true]]);
    expect(await db.query("SELECT to_regclass('never_started') AS t")).toEqual([{ t: null }]);
    expect(entry.output()).not.toContain('"event":"entrypoint.start"');
  });
});
