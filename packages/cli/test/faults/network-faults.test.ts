/**
 * Network cut to the database mid-run (TEST-MATRIX row 10), through a loopback TCP proxy the
 * test controls: the runner gives up within its timeout instead of hanging, and after recovery
 * every migration is applied exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, isConnectionLoss } from '../../src/db/connect.js';
import { parseTarget } from '../../src/config/target.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli, startCli, type CliRun, type StartedCli } from '../support/cli.js';
import { countLostOrDoubled, eventually, migrationLockRows } from '../support/counting.js';
import { ADMIN_URL, testDatabases, type TestDatabase } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const newDatabase = testDatabases();
const CONNECT_TIMEOUT_MS = 1_000;
/** How long the runner may take to give up after a silent cut: the liveness check waits 2 × the connect timeout, then 2 probes of 1 connect timeout each, plus slack for a loaded machine. */
const GIVE_UP_BUDGET_MS = 12_000;

const names = ['20240101000000_first', '20240101000001_second'];
const migrations = {
  [names[0]!]: `CREATE TABLE marks (name text);\nINSERT INTO marks VALUES ('first');\nSELECT pg_sleep(2);\n`,
  [names[1]!]: `INSERT INTO marks VALUES ('second');\n`,
};

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runThroughProxy(db: TestDatabase): Promise<{ proxy: TcpProxy; runner: StartedCli; dir: string }> {
  const proxy = await startTcpProxy(Number(new URL(ADMIN_URL).port || 5432), new URL(ADMIN_URL).hostname);
  cleanups.push(() => proxy.close());
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const dir = writeMigrations(migrations);
  const runner = startCli(['migrate', '--migrations-dir', dir], {
    DATABASE_URL: viaProxy.toString(),
    DIGILOG_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    DIGILOG_CONNECT_RETRIES: '0',
  });
  cleanups.push(() => void runner.child.kill('SIGKILL'));
  await eventually('first migration running', async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()`)).length > 0);
  return { proxy, runner, dir };
}

/** Resolves with the run, or null if it has not ended within ms. */
function within(run: Promise<CliRun>, ms: number): Promise<CliRun | null> {
  return Promise.race([run, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
}

/** After a cut: the recovery a user would follow (status, resolve what it names, migrate), directly to the server. */
async function recover(db: TestDatabase, dir: string): Promise<void> {
  await eventually('lock freed', async () => (await migrationLockRows(db.query)).length === 0, 10_000);
  const next = await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url });
  if (next.code === EXIT_CODES['failed-migration']) {
    const failed = names.filter((name) => next.stderr.includes(`resolve --rolled-back "${name}"`));
    expect(failed.length).toBe(1);
    expect((await runCli(['resolve', '--rolled-back', failed[0]!, '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
  } else {
    expect(next.code).toBe(0);
  }
}

describe('[row 10] network cut mid-run', () => {
  it('[row 10] silent cut (nothing forwarded, sockets left open): the runner gives up within its budget; nothing applied twice', async () => {
    const db = await newDatabase('digilog_netcut_silent');
    const { proxy, runner, dir } = await runThroughProxy(db);
    const cutAt = performance.now();
    proxy.blackhole();
    const run = await within(runner.done, GIVE_UP_BUDGET_MS + 5_000);
    const gaveUpMs = performance.now() - cutAt;
    expect(run, 'the runner hung after a silent network cut').not.toBeNull();
    expect(gaveUpMs).toBeLessThan(GIVE_UP_BUDGET_MS);
    expect(run!.code).toBe(EXIT_CODES.unreachable);
    expect(run!.stderr).toContain('Lost the connection to the database');
    expect(run!.stderr).toContain(names[0]);
    expect(run!.stderr).toContain('liveness checks could not reach the server');
    // The server learns of the cut only when its side closes (its keepalive, in real life).
    proxy.closeUpstreams();
    await recover(db, dir);
    const lostOrDoubled = await countLostOrDoubled(db.query, names);
    expect(lostOrDoubled).toBe(0);
    expect(await db.query(`SELECT name, count(*)::int AS n FROM marks GROUP BY 1 ORDER BY 1`)).toEqual([
      { name: 'first', n: 1 },
      { name: 'second', n: 1 },
    ]);
    recordReliability({
      row: 10,
      scenario: 'silent network cut mid-migration (TCP proxy drops every byte, sockets stay open)',
      fault: 'blackhole while migration 1 of 2 runs',
      result: `runner gave up after ${(gaveUpMs / 1000).toFixed(1)} s with exit ${EXIT_CODES.unreachable}; after recovery each migration applied once`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  }, 60_000);

  it('[row 10] loud cut (both sides reset): the runner fails at once with exit 8; the server rolls back; nothing applied twice', async () => {
    const db = await newDatabase('digilog_netcut_reset');
    const { proxy, runner, dir } = await runThroughProxy(db);
    const cutAt = performance.now();
    proxy.reset();
    const run = await within(runner.done, 10_000);
    const gaveUpMs = performance.now() - cutAt;
    expect(run).not.toBeNull();
    expect(run!.code).toBe(EXIT_CODES.unreachable);
    expect(run!.stderr).toContain('Lost the connection to the database');
    // The server saw its client go (client_connection_check_interval) and rolled the script back.
    await eventually('lock freed', async () => (await migrationLockRows(db.query)).length === 0, 5_000);
    expect(await db.query(`SELECT to_regclass('marks') AS t`)).toEqual([{ t: null }]);
    await recover(db, dir);
    const lostOrDoubled = await countLostOrDoubled(db.query, names);
    expect(lostOrDoubled).toBe(0);
    expect(await db.query(`SELECT count(*)::int AS n FROM marks`)).toEqual([{ n: 2 }]);
    recordReliability({
      row: 10,
      scenario: 'network reset mid-migration (TCP proxy destroys both sides)',
      fault: 'reset while migration 1 of 2 runs',
      result: `runner failed after ${Math.round(gaveUpMs)} ms with exit ${EXIT_CODES.unreachable}; script rolled back by the server; after recovery each migration applied once`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  }, 60_000);

  it('[row 10] a runner session has TCP keepalive on the server side too (a dead runner does not hold the lock for hours)', async () => {
    const db = await newDatabase('digilog_keepalive');
    const client = await connect(parseTarget(db.url), { retries: 0, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    try {
      const rows = await client.query(`SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval, current_setting('tcp_keepalives_count') AS count`);
      expect(rows.rows).toEqual([{ idle: '30', interval: '10', count: '3' }]);
    } finally {
      await client.end();
    }
  });

  it.each([
    [{ code: 'EPIPE' }, true],
    [{ code: 'ECONNRESET' }, true],
    [new Error('Connection terminated unexpectedly'), true],
    [{ code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' }, true],
    [{ code: '08006', severity: 'FATAL', message: 'connection failure' }, true],
    [{ code: '53100', severity: 'ERROR', message: 'could not extend file: No space left on device' }, false],
    [{ code: '55P03', severity: 'ERROR', message: 'canceling statement due to lock timeout' }, false],
    [{ code: '42P01', severity: 'ERROR', message: 'relation "x" does not exist' }, false],
  ])('[row 10] isConnectionLoss(%j) = %s (a lost connection is not reported as a failed script)', (error, expected) => {
    expect(isConnectionLoss(error)).toBe(expected);
  });
});
