/**
 * Ctrl-C (SIGINT) and SIGTERM during `dev`, `diff` and `rollback`: whenever the signal comes, no temporary
 * shadow database of that run survives it and the command ends as interrupted (130/143), never
 * as a failure; and shadow databases left by processes that died outright on this host are
 * dropped by the next run, while those of live processes or other hosts are kept.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SHADOW_HOST_TAG } from '../../src/engine/adapter-factory.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, type CliRun } from '../support/cli.js';
import { startCluster } from '../support/cluster.js';
import { adminQuery, shadowDatabases, shadowOwnerPid, testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, REPO_ROOT } from '../support/migrations.js';

const newDatabase = testDatabases();
/** Pids of every CLI process this file started: the shadow databases to check are theirs only (other test files run `dev` meanwhile). */
const ourPids: number[] = [];

const ourShadows = async (): Promise<string[]> => (await shadowDatabases()).filter((name) => ourPids.includes(shadowOwnerPid(name)));

afterAll(async () => {
  // Whatever a failed assertion left behind is not left on the shared server.
  for (const name of await ourShadows()) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

/** A copy of the project's prisma/ folder whose schema has one change the migrations lack (so `dev` has a migration to write). */
function projectCopy(): { schema: string; migrations: string } {
  const root = mkdtempSync(join(tmpdir(), 'digilog-signals-'));
  cpSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), join(root, 'prisma', 'schema.prisma'));
  cpSync(join(REPO_ROOT, 'prisma', 'migrations'), join(root, 'prisma', 'migrations'), { recursive: true });
  const schema = join(root, 'prisma', 'schema.prisma');
  writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?      @db.VarChar(64)'));
  return { schema, migrations: join(root, 'prisma', 'migrations') };
}

/** Starts the CLI, records its pid, and sends `signal` once `ready` resolves (it should give up when `exited()`); returns the finished run. */
async function interrupt(
  args: string[],
  db: TestDatabase,
  ready: (pid: number, exited: () => boolean) => Promise<void>,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<CliRun> {
  const started = startCli(args, { DATABASE_URL: db.url });
  const pid = started.child.pid!;
  ourPids.push(pid);
  let exited = false;
  void started.done.finally(() => (exited = true));
  await Promise.race([ready(pid, () => exited), started.done]);
  started.child.kill(signal);
  return started.done;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once the schema engine's first session on `db` is open (its lock session, or its main connection). */
async function engineConnected(db: TestDatabase, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !exited(); i++) {
    const rows = await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = '${db.name}' AND application_name LIKE 'digilog-db schema engine%'`);
    if (rows.length > 0) return;
    await sleep(10);
  }
  if (!exited()) throw new Error(`no schema engine session on ${db.name}`);
}

/** Resolves once a shadow database of `pid` runs the migration that sleeps. */
async function replayingInShadow(pid: number, exited: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !exited(); i++) {
    const rows = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_stat_activity WHERE datname LIKE 'digilog\\_shadow\\_%' AND query LIKE '%pg_sleep(3)%'`);
    if (rows.some((row) => shadowOwnerPid(row.datname) === pid)) return;
    await sleep(20);
  }
  if (!exited()) throw new Error(`process ${pid} never replayed the slow migration in a shadow database`);
}

describe('signals during dev and diff', () => {
  it('SIGINT at any moment of dev --create-only and diff leaves no shadow database and ends with 130, never as a failure', async () => {
    // One database per command: the marker below must tell the two runs apart.
    const [devDb, diffDb] = [await newDatabase('digilog_sigint_dev'), await newDatabase('digilog_sigint_diff')];
    // Migrated first: `dev` then has nothing to apply to the database itself, only the shadow work.
    for (const db of [devDb, diffDb]) expect((await runCli(['migrate', '--schema', projectCopy().schema], { DATABASE_URL: db.url })).code).toBe(0);
    const dev = () => ['dev', '--name', 'add_owner', '--create-only', '--schema', projectCopy().schema];
    const diff = () => ['diff', '--schema', projectCopy().schema];
    // Before the command has opened anything Node's default ends it (killed by SIGINT): nothing to clean up yet.
    for (const run of await Promise.all([interrupt(dev(), devDb, () => sleep(200)), interrupt(diff(), diffDb, () => sleep(200))])) {
      expect([0, EXIT_CODES.sigint, null], run.stderr).toContain(run.code);
      if (run.code === null) expect(run.signal).toBe('SIGINT');
    }
    // Delays counted from the command's first session (the machine's load varies too much for delays from the start):
    // from then on the signal falls into the lock wait, the shadow database's creation, the replay, the diff or the file writing.
    for (const delayMs of [0, 30, 100, 200, 350, 550, 800, 1200, 2000, 3500]) {
      const runs = await Promise.all([
        interrupt(dev(), devDb, (_, exited) => engineConnected(devDb, exited).then(() => sleep(delayMs))),
        interrupt(diff(), diffDb, (_, exited) => engineConnected(diffDb, exited).then(() => sleep(delayMs))),
      ]);
      // 0: it had finished before the signal.
      for (const run of runs) expect([0, EXIT_CODES.sigint], run.stderr).toContain(run.code);
    }
    expect(await ourShadows()).toEqual([]);
  }, 300_000);

  it('a signal while the history replays in the shadow database ends diff and dev with 130 (SIGINT) or 143 (SIGTERM), the shadow dropped', async () => {
    const db = await newDatabase('digilog_sigint_late');
    for (const [command, signal] of [
      ['diff', 'SIGINT'],
      ['diff', 'SIGTERM'],
      ['dev', 'SIGINT'],
    ] as const) {
      const project = projectCopy();
      addMigration(project.migrations, '29990101000000_slow', 'SELECT pg_sleep(3);\n');
      const args = command === 'dev' ? ['dev', '--name', 'add_owner', '--create-only', '--schema', project.schema] : ['diff', '--schema', project.schema];
      const run = await interrupt(args, db, replayingInShadow, signal);
      expect(run.code, run.stderr).toBe(signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm);
      expect(run.stderr).toContain(`Stopped by ${signal}`);
      expect(run.stderr).not.toContain('failed to apply cleanly');
    }
    expect(await ourShadows()).toEqual([]);
  }, 120_000);

  it('drops the shadow databases of dead processes of this host at the next start, and keeps those of live processes and other hosts', async () => {
    const db = await newDatabase('digilog_sweep');
    expect((await runCli(['migrate', '--schema', projectCopy().schema], { DATABASE_URL: db.url })).code).toBe(0);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const otherHost = SHADOW_HOST_TAG === '00000000' ? '11111111' : '00000000';
    const name = (host: string, pid: number) => `digilog_shadow_${host}_${pid}_${randomBytes(6).toString('hex')}`;
    const dead = name(SHADOW_HOST_TAG, deadPid);
    const live = name(SHADOW_HOST_TAG, process.pid);
    const elsewhere = name(otherHost, deadPid);
    for (const leftover of [dead, live, elsewhere]) await adminQuery(`CREATE DATABASE "${leftover}"`);
    try {
      const run = await runCli(['diff', '--schema', projectCopy().schema], { DATABASE_URL: db.url });
      expect(run.code, run.stderr).toBe(0);
      const remaining = await shadowDatabases();
      expect(remaining).not.toContain(dead);
      expect(remaining).toContain(live);
      expect(remaining).toContain(elsewhere);
    } finally {
      for (const leftover of [dead, live, elsewhere]) await adminQuery(`DROP DATABASE IF EXISTS "${leftover}" WITH (FORCE)`);
    }
  }, 60_000);

  it('SIGINT while CREATE DATABASE of the shadow is still running: the database is dropped once it exists (private cluster)', async () => {
    // A cluster of its own: the test holds a lock on pg_database that would stall every CREATE DATABASE on the shared server.
    const cluster = await startCluster();
    const locker = new pg.Client({ connectionString: cluster.url() });
    try {
      await adminQuery('CREATE DATABASE app', cluster.url());
      const db = { name: 'app', url: cluster.url('app') } as TestDatabase;
      expect((await runCli(['migrate', '--schema', projectCopy().schema], { DATABASE_URL: db.url })).code).toBe(0);
      await locker.connect();
      // CREATE DATABASE inserts into pg_database (ROW EXCLUSIVE): it waits behind this SHARE lock until COMMIT.
      await locker.query('BEGIN; LOCK TABLE pg_database IN SHARE MODE');
      let pid = 0;
      let blocked = false;
      let onBlocked: () => void = () => {};
      const signalSent = new Promise<void>((resolve) => (onBlocked = resolve));
      const run = interrupt(['diff', '--schema', projectCopy().schema], db, async (childPid, exited) => {
        pid = childPid;
        for (let i = 0; i < 2000 && !exited(); i++) {
          const rows = await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE "digilog\\_shadow\\_%' AND wait_event_type = 'Lock'`, cluster.url());
          if (rows.length > 0) {
            blocked = true;
            return onBlocked(); // interrupt() sends the signal right after this returns
          }
          await sleep(20);
        }
      });
      // CREATE DATABASE finishes only once the signal was handled: the run's engine session on `app` is closed then
      // (a run that does not wait for its CREATE DATABASE exits meanwhile; the bound only keeps a broken run from hanging here).
      const handled = async () => {
        await signalSent;
        for (let i = 0; i < 500; i++) {
          const rows = await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND application_name = 'digilog-db schema engine'`, cluster.url());
          if (rows.length === 0) return;
          await sleep(20);
        }
      };
      await Promise.race([run, handled()]);
      await locker.query('COMMIT');
      const finished = await run;
      expect(blocked, finished.stderr).toBe(true);
      expect(finished.code, finished.stderr).toBe(EXIT_CODES.sigint);
      const left = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'digilog\\_shadow\\_%'`, cluster.url());
      expect(left.filter((row) => shadowOwnerPid(row.datname) === pid)).toEqual([]);
    } finally {
      await locker.end().catch(() => {});
      cluster.destroyAll();
    }
  }, 120_000);
});

describe('signals during rollback', () => {
  it('SIGINT or SIGTERM while rollback replays two histories at once (its own up to the target, the engine\'s of every migration): 130/143, no shadow database left, nothing written', async () => {
    const db = await newDatabase('digilog_sigint_rollback');
    const project = projectCopy();
    writeFileSync(project.schema, readFileSync(join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8'));
    // The slow migration comes before the target: both replays run it.
    addMigration(project.migrations, '29990101000000_slow', 'SELECT pg_sleep(3);\n');
    addMigration(project.migrations, '29990102000000_after', 'CREATE TABLE "AfterSlow" ("id" INTEGER PRIMARY KEY);\n');
    expect((await runCli(['migrate', '--schema', project.schema], { DATABASE_URL: db.url })).code).toBe(0);
    expect((await runCli(['pull', '--schema', project.schema], { DATABASE_URL: db.url })).code).toBe(0);
    const folders = readdirSync(project.migrations);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const run = await interrupt(['rollback', '--last', '1', '--create-only', '--schema', project.schema], db, replayingInShadow, signal);
      expect(run.code, run.stderr).toBe(signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm);
      expect(run.stderr).toContain(`Stopped by ${signal}`);
    }
    expect(await ourShadows()).toEqual([]);
    expect(readdirSync(project.migrations)).toEqual(folders);
  }, 120_000);
});
