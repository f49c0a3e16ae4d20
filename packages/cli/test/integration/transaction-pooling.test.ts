/**
 * TEST-MATRIX row 29: behind a transaction pooler (PgBouncer pool_mode=transaction) a
 * session-level advisory lock does not follow the client, so `migrate` must detect it and
 * refuse with an explanation, leaving no lock and no change behind. pgbouncer.test.ts runs
 * this against a real PgBouncer. This file keeps the small pooler written for the test
 * (support/transaction-pool-proxy.ts) for what PgBouncer cannot be made to show: a session
 * moved to another server process on its very next transaction. PgBouncer opens server
 * connections on demand and gives a lone client the one it just used, so there the lock is
 * caught by a second connection landing on its process; this proxy hands each transaction to
 * the next of three connections, so the other branch (lock taken on one process, the check
 * run on another, the lock released on the first after retries) runs every time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PRISMA_ADVISORY_LOCK_KEY } from '../../src/db/lock.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { countLostOrDoubled, migrationLockRows } from '../support/counting.js';
import { ADMIN_URL, testDatabases } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';
import { startTransactionPoolProxy, type TransactionPoolProxy } from '../support/transaction-pool-proxy.js';

const newDatabase = testDatabases();
const proxies: TransactionPoolProxy[] = [];
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
});

describe('[row 29] transaction pooling', () => {
  it('[row 29] migrate through a transaction pooler is refused with an explanation; no lock, table or row left behind', async () => {
    const db = await newDatabase('digilog_txpool');
    const proxy = await startTransactionPoolProxy(Number(new URL(ADMIN_URL).port || 5432));
    proxies.push(proxy);
    const pooled = new URL(db.url);
    pooled.port = String(proxy.port);
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE pooled (id int);\n' });
    const env = { DATABASE_URL: pooled.toString(), DIGILOG_CONNECT_RETRIES: '0' };

    const runs = [await runCli(['migrate', '--migrations-dir', dir], env), await runCli(['migrate', '--json', '--migrations-dir', dir], env)];
    for (const run of runs) expect(run.code).toBe(EXIT_CODES.config);
    expect(runs[0]!.stderr).toContain('transaction-pooling proxy');
    expect(runs[0]!.stderr).toContain('direct connection');
    const error = JSON.parse(runs[1]!.stdout).error;
    expect(error.details).toMatchObject({ released: true });
    expect(error.details.lockPid).not.toBe(error.details.sessionPid);
    // Both pids are server processes of the pool: the lock was really taken on one and the check ran on another.
    const poolPids = await proxy.backendPids();
    expect(poolPids).toContain(error.details.lockPid);
    expect(poolPids).toContain(error.details.sessionPid);

    // Nothing changed, and the lock was given back on the connection that took it.
    expect(await db.query(`SELECT to_regclass('pooled') AS t, to_regclass('_prisma_migrations') AS m`)).toEqual([{ t: null, m: null }]);
    expect(await migrationLockRows(db.query)).toEqual([]);
    // Read-only commands still work through the pooler; a direct connection migrates.
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(EXIT_CODES.pending);
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    const lostOrDoubled = await countLostOrDoubled(db.query, ['20240101000000_init']);
    expect(lostOrDoubled).toBe(0);
    recordReliability({
      row: 29,
      scenario: 'migrate through a test pooler that moves each transaction to the next of 3 server connections (what PgBouncer does under load)',
      fault: '2 runs through the pooler',
      result: `both refused (exit ${EXIT_CODES.config}) naming transaction pooling and the fix; lock ${PRISMA_ADVISORY_LOCK_KEY} released on the process that took it; nothing applied`,
      runners: 2,
      badInputs: 2,
      lostOrDoubled,
    });
  });
});
