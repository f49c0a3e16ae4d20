/**
 * History integrity through the built binary (TEST-MATRIX rows 18–21): edited,
 * deleted, renamed and out-of-order migrations are reported by name with the
 * exit code of the table, and deploys never silently continue past them.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/read/checksum.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();

/** Names whose live finished rows are not exactly one (lost or applied twice), against the names expected applied. */
async function lostOrDoubled(db: TestDatabase, expected: string[]): Promise<string[]> {
  const rows = await db.query<{ migration_name: string; n: number }>(
    `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY 1`,
  );
  const counts = new Map(rows.map((r) => [r.migration_name, r.n]));
  return [...new Set([...expected, ...counts.keys()])].filter((name) => (counts.get(name) ?? 0) !== (expected.includes(name) ? 1 : 0));
}

const tableExists = async (db: TestDatabase, table: string) =>
  (await db.query<{ t: string | null }>(`SELECT to_regclass('${table}')::text AS t`))[0]!.t !== null;

describe('history integrity through the CLI', () => {
  it('[row 18] an edited applied migration is reported with its file and both checksums; migrate refuses until allowed', async () => {
    const db = await newDatabase();
    const original = 'CREATE TABLE a (id int);\n';
    const dir = writeMigrations({ '20240101000000_init': original, '20240102000000_b': 'CREATE TABLE b (id int);\n' });
    const env = { DATABASE_URL: db.url };
    const args = ['--migrations-dir', dir];
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);

    const edited = 'CREATE TABLE a (id bigint); -- widened later\n';
    writeFileSync(join(dir, '20240101000000_init', 'migration.sql'), edited);
    addMigration(dir, '20240103000000_c', 'CREATE TABLE c (id int);\n');
    const [recorded, current] = [sha256Hex(original), sha256Hex(edited)];
    const file = join(dir, '20240101000000_init', 'migration.sql');

    const status = await runCli(['status', ...args], env);
    expect(status.code).toBe(EXIT_CODES['history-mismatch']);
    for (const text of ['20240101000000_init', file, recorded, current]) expect(status.stdout).toContain(text);
    const json = JSON.parse((await runCli(['status', '--json', ...args], env)).stdout);
    expect(json.edited).toEqual([{ name: '20240101000000_init', path: file, recordedChecksum: recorded, fileChecksum: current }]);

    const refused = await runCli(['migrate', ...args], env);
    expect(refused.code).toBe(EXIT_CODES['history-mismatch']);
    for (const text of ['20240101000000_init', file, recorded, current, '--allow-modified-history']) expect(refused.stderr).toContain(text);
    expect(await tableExists(db, 'c')).toBe(false);

    const allowed = await runCli(['migrate', '--allow-modified-history', ...args], env);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('Modified after being applied: 20240101000000_init');
    expect(await tableExists(db, 'c')).toBe(true);
    const wrong = await lostOrDoubled(db, ['20240101000000_init', '20240102000000_b', '20240103000000_c']);
    expect(wrong).toEqual([]);
    recordReliability({
      row: 18,
      scenario: 'Applied migration edited on disk, then a deploy',
      fault: 'migration.sql of an applied migration rewritten',
      result: 'status exit 7 and migrate exit 7 name the file and both full checksums; the next migration waits until --allow-modified-history',
      runners: 1,
      faults: 1,
      lostOrDoubled: wrong.length,
    });
  });

  it('[row 19] applied migrations deleted or renamed on disk are reported as a list', async () => {
    const db = await newDatabase();
    const names = ['20240101000000_a', '20240102000000_b', '20240103000000_c', '20240104000000_d'];
    const dir = writeMigrations(Object.fromEntries(names.map((n, i) => [n, `CREATE TABLE t${i} (id int);\n`])));
    const env = { DATABASE_URL: db.url };
    const args = ['--migrations-dir', dir];
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);

    rmSync(join(dir, names[1]!), { recursive: true });
    rmSync(join(dir, names[3]!), { recursive: true });
    const deleted = await runCli(['status', ...args], env);
    expect(deleted.code).toBe(EXIT_CODES['history-mismatch']);
    for (const name of [names[1]!, names[3]!]) expect(deleted.stdout).toContain(`${name} is applied but not in the migrations folder`);
    expect(JSON.parse((await runCli(['status', '--json', ...args], env)).stdout).missingFromDisk).toEqual([names[1], names[3]]);
    // An older replica during a rolling deploy is in this state: migrate warns with the list and applies nothing twice.
    const deploy = await runCli(['migrate', ...args], env);
    expect(deploy.code).toBe(0);
    expect(deploy.stderr).toContain(`missing from the migrations folder: ${names[1]}, ${names[3]}`);

    renameSync(join(dir, names[2]!), join(dir, '20240103000000_c_renamed'));
    const renamed = JSON.parse((await runCli(['status', '--json', ...args], env)).stdout);
    // Same content under a new name is a rename, not a new migration: reported as such and never applied again.
    expect(renamed).toMatchObject({ state: 'missingFromDisk', missingFromDisk: [names[1], names[3]], renamed: [{ from: names[2], to: '20240103000000_c_renamed' }], pending: [] });
    expect((await runCli(['migrate', ...args], env)).code).toBe(EXIT_CODES['history-mismatch']);
    const wrong = await lostOrDoubled(db, names);
    expect(wrong).toEqual([]);
    recordReliability({
      row: 19,
      scenario: 'Applied migrations deleted and renamed on disk',
      fault: '2 applied folders deleted, then 1 renamed',
      result: 'status exit 7 lists every missing name and the renamed one as a rename; migrate warns with the list, refuses the rename (exit 7), applies nothing twice',
      runners: 1,
      faults: 3,
      lostOrDoubled: wrong.length,
    });
  });

  it('[row 20] an out-of-order migration is reported; refused in production unless --allow-out-of-order', async () => {
    const db = await newDatabase();
    const dir = writeMigrations({ '20240101000000_a': 'CREATE TABLE a (id int);\n', '20240103000000_c': 'CREATE TABLE c (id int);\n' });
    const env = { DATABASE_URL: db.url };
    const args = ['--migrations-dir', dir];
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    addMigration(dir, '20240102000000_b', 'CREATE TABLE b (id int);\n');

    const status = await runCli(['status', ...args], env);
    expect(status.code).toBe(EXIT_CODES.pending);
    expect(status.stdout).toContain('20240102000000_b (older than the newest applied migration)');
    expect(JSON.parse((await runCli(['status', '--json', ...args], env)).stdout).outOfOrder).toEqual(['20240102000000_b']);

    const production = { ...env, NODE_ENV: 'production' };
    const refused = await runCli(['migrate', ...args], production);
    expect(refused.code).toBe(EXIT_CODES['history-mismatch']);
    expect(refused.stderr).toContain('20240102000000_b');
    expect(refused.stderr).toContain('--allow-out-of-order');
    expect(await tableExists(db, 'b')).toBe(false);

    const allowed = await runCli(['migrate', '--allow-out-of-order', ...args], production);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toContain('older than the newest applied one: 20240102000000_b');
    expect(await tableExists(db, 'b')).toBe(true);
    const wrong = await lostOrDoubled(db, ['20240101000000_a', '20240102000000_b', '20240103000000_c']);
    expect(wrong).toEqual([]);
    recordReliability({
      row: 20,
      scenario: 'New migration older than the newest applied one',
      fault: 'migration dated between two applied ones',
      result: 'status exit 3 marks it out of order; migrate in production exit 7 until --allow-out-of-order, then applied once',
      runners: 1,
      faults: 1,
      lostOrDoubled: wrong.length,
    });
  });

  it('[row 21] resolve --rolled-back, fix the file, redeploy: no "modified" warning afterwards (Prisma #9829)', async () => {
    const db = await newDatabase();
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n', '20240102000000_fix_me': 'CREATE TABLE b (id int);\nSELECT 1/0;\n' });
    const env = { DATABASE_URL: db.url };
    const args = ['--migrations-dir', dir];
    expect((await runCli(['migrate', ...args], env)).code).toBe(EXIT_CODES['migration-sql']);
    const resolved = await runCli(['resolve', '--rolled-back', '20240102000000_fix_me', ...args], env);
    expect(resolved.code).toBe(0);
    writeFileSync(join(dir, '20240102000000_fix_me', 'migration.sql'), 'CREATE TABLE b (id int);\n');
    const redeploy = await runCli(['migrate', ...args], env);
    expect(redeploy.code).toBe(0);
    expect(redeploy.stdout).toContain('20240102000000_fix_me');

    // Afterwards, everything that reads the history is clean: the rolled-back row's old checksum is ignored.
    const after = [await runCli(['status', ...args], env), await runCli(['migrate', ...args], env)];
    expect(after.map((r) => r.code)).toEqual([0, 0]);
    for (const run of after) expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/edited|modified|warning|checksum/i);
    const health = await runCli(['health', '--json', ...args], env);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'healthy', database: { details: { edited: [], failed: [] } } });
    const rows = await db.query<{ rolled_back: boolean; checksum: string }>(
      `SELECT rolled_back_at IS NOT NULL AS rolled_back, checksum FROM _prisma_migrations WHERE migration_name = '20240102000000_fix_me' ORDER BY started_at`,
    );
    expect(rows.map((r) => r.rolled_back)).toEqual([true, false]);
    expect(rows[0]!.checksum).not.toBe(rows[1]!.checksum);
    const wrong = await lostOrDoubled(db, ['20240101000000_init', '20240102000000_fix_me']);
    expect(wrong).toEqual([]);
    recordReliability({
      row: 21,
      scenario: 'Failed migration rolled back with resolve, fixed and redeployed',
      fault: 'division by zero in the migration, then its file changed',
      result: 'status, migrate and health exit 0 with no "modified" warning; the rolled-back row keeps the old checksum',
      runners: 1,
      faults: 1,
      lostOrDoubled: wrong.length,
    });
  });
});
