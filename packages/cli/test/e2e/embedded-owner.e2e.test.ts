/**
 * One owner per embedded data folder: a second process on the same
 * `.digilog` is refused with one line naming the owner (exit 2) instead of
 * running a second PostgreSQL on the same files; a lock left by a dead process
 * is taken over; a damaged data folder is named with its recovery step.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireOwnerLock } from '../../src/embedded/owner-lock.js';
import { DigilogError, EXIT_CODES } from '../../src/errors.js';
import { runCli, runTogether } from '../support/cli.js';
import { REPO_ROOT } from '../support/migrations.js';
import { readMigrations } from '../../src/read/migrations-folder.js';

/** `migrate`'s summary once it applied every migration of the repository. */
const APPLIED_ALL = new RegExp(`Applied ${readMigrations(join(REPO_ROOT, 'prisma', 'migrations')).length} migrations?`);
import { startServer } from '../../../api/test/support/server.js';

function project(): { root: string; dataDir: string; args: string[]; env: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-owner-'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  cpSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), join(root, 'prisma', 'schema.prisma'));
  const dataDir = join(root, '.digilog');
  return { root, dataDir, args: ['--schema', join(root, 'prisma', 'schema.prisma')], env: { DIGILOG_DATA_DIR: dataDir } };
}

describe('embedded database ownership', () => {
  it('migrate while the API runs on the same folder is refused naming the API; after the API stops it applies', { timeout: 180_000 }, async () => {
    const p = project();
    // First start initialises the data folder: slow on a loaded machine.
    const server = await startServer(p.env, { cwd: p.root, timeoutMs: 90_000 });
    let whileRunning;
    try {
      whileRunning = await runCli(['migrate', ...p.args], p.env);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(whileRunning.code).toBe(EXIT_CODES.config);
    expect(whileRunning.stdout).not.toMatch(/Applied/);
    expect(whileRunning.stderr).toMatch(new RegExp(`^Error: The embedded database in .* is in use by pid ${server.child.pid} on ${hostname()} \\(digilog-api\\)`, 'm'));

    const after = await runCli(['migrate', ...p.args], p.env);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(APPLIED_ALL);
    const status = await runCli(['status', '--json', ...p.args], p.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'upToDate' });
  });

  it('two migrate runs at once on one folder: one applies, the other is refused naming it or finds nothing pending', { timeout: 120_000 }, async () => {
    const p = project();
    const { runs } = await runTogether(2, ['migrate', '--json', ...p.args], p.env);
    const applied = runs.filter((run) => run.code === 0 && (JSON.parse(run.stdout) as { applied: unknown[] }).applied.length > 0);
    expect(applied).toHaveLength(1);
    const other = runs.find((run) => run !== applied[0])!;
    if (other.code === 0) {
      expect(JSON.parse(other.stdout)).toMatchObject({ applied: [] });
    } else {
      expect(other.code).toBe(EXIT_CODES.config);
      expect(JSON.parse(other.stdout).error.message).toMatch(/is in use by pid \d+ on .* \((digilog-db|gated-cli) migrate\)/);
    }
    const status = await runCli(['status', '--json', ...p.args], p.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'upToDate' });
  });

  it('a lock left by a dead process is taken over; a damaged data folder is named with its recovery step', { timeout: 120_000 }, async () => {
    const p = project();
    mkdirSync(p.dataDir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(p.dataDir, 'owner.lock'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), command: 'digilog-db migrate', startedAt: new Date().toISOString() }));
    const migrate = await runCli(['migrate', ...p.args], p.env);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toMatch(APPLIED_ALL);
    // Released on exit.
    expect(existsSync(join(p.dataDir, 'owner.lock'))).toBe(false);

    const pgdata = join(p.dataDir, 'pgdata');
    truncateSync(join(pgdata, 'global', 'pg_control'), 0);
    const status = await runCli(['status', ...p.args], p.env);
    expect(status.code).toBe(EXIT_CODES.unreachable);
    const lines = status.stderr.trim().split('\n');
    expect(lines.at(-2)).toBe(`Error: The embedded database in ${pgdata} could not be opened: its files are damaged or not a PGlite data folder (Aborted(). Build with -sASSERTIONS for more info.)`);
    expect(lines.at(-1)).toContain(`Move the folder aside to keep it (mv ${pgdata} ${pgdata}.broken) or delete it to start fresh (rm -rf ${pgdata})`);
    expect(existsSync(join(p.dataDir, 'owner.lock'))).toBe(false);
  });

  it('a lock naming our own pid that we do not hold is stale (containers reuse pids); one we hold is in use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'digilog-owner-pid-'));
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'digilog-api', startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = acquireOwnerLock(dir, 'test');
    try {
      expect(() => acquireOwnerLock(dir, 'test again')).toThrow(DigilogError);
    } finally {
      lock.release();
    }
    expect(existsSync(join(dir, 'owner.lock'))).toBe(false);
  });
});
