/**
 * TEST-MATRIX row 35 on real pseudo-terminals (`script`): a terminal of 0 columns, stdout to a
 * file, a terminal that closes and one that stops reading. No command may hang, spin or keep
 * the migration lock, and SIGTERM is always honoured. Also: each stream's own colour decision.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { countLostOrDoubled } from '../support/counting.js';
import { testDatabases, type TestDatabase } from '../support/database.js';
import { addMigration, writeMigrations } from '../support/migrations.js';
import { exited, killAll, orHang, sleep, startInPty, type PtyRun } from '../support/pty.js';
import { recordReliability } from '../support/reliability.js';

const newDatabase = testDatabases();
/** Far beyond what each run needs here (about a second); only a hang reaches it. */
const HANG_MS = 30_000;
const ADVISORY_LOCKS = `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
const ESC = '\u001b[';

function slowSteps(count: number): { names: string[]; dir: string } {
  const names = Array.from({ length: count }, (_, i) => `2024010100000${i}_step_${i}`);
  return { names, dir: writeMigrations(Object.fromEntries(names.map((name, i) => [name, `CREATE TABLE t${i} (id int);\nSELECT pg_sleep(0.4);\n`]))) };
}

async function history(db: TestDatabase): Promise<Array<{ migration_name: string; finished: boolean }>> {
  return db.query(`SELECT migration_name, finished_at IS NOT NULL AS finished FROM _prisma_migrations ORDER BY 1`);
}

/** Every recorded migration finished and no advisory lock left in the database; returns the history. */
async function expectFinishedAndUnlocked(db: TestDatabase): Promise<Array<{ migration_name: string; finished: boolean }>> {
  const rows = await history(db);
  expect(rows.every((r) => r.finished)).toBe(true);
  expect(await db.query(ADVISORY_LOCKS)).toEqual([]);
  return rows;
}

/** Each of `names` applied exactly once; returns that count (0) for the reliability record. */
async function expectNoneLostOrDoubled(db: TestDatabase, names: string[]): Promise<number> {
  const lostOrDoubled = await countLostOrDoubled(db.query, names);
  expect(lostOrDoubled).toBe(0);
  return lostOrDoubled;
}

/** Waits (at most HANG_MS) until a migration's pg_sleep runs on the server. */
async function migrationRunning(db: TestDatabase): Promise<boolean> {
  for (let waited = 0; waited < HANG_MS; waited += 20) {
    const running = await db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(0.4)%' AND pid <> pg_backend_pid()`);
    if (running.length > 0) return true;
    await sleep(20);
  }
  return false;
}

/** Runs `test` with a pty run, and never leaves its processes behind. */
async function withPty<T>(run: PtyRun, test: (pid: number) => Promise<T>): Promise<T> {
  let pid: number | undefined;
  try {
    pid = await orHang(run.pid, HANG_MS, 'digilog-db never started in the terminal');
    return await test(pid);
  } finally {
    killAll(run, pid);
  }
}

// A hang is reported by orHang (each wait at most HANG_MS), before vitest's own timeout could strand the processes.
describe('[row 35] terminals', { timeout: 4 * HANG_MS }, () => {
  it('[row 35] migrate on a pty of 0 columns with stdout to a file applies everything and releases the lock', async () => {
    const db = await newDatabase('digilog_pty0');
    const { names, dir } = slowSteps(3);
    const out = join(mkdtempSync(join(tmpdir(), 'digilog-pty-out-')), 'out.txt');
    const run = startInPty(['migrate', '--migrations-dir', dir], { columns: 0, env: { DATABASE_URL: db.url }, redirect: `> '${out}'` });
    const { code } = await withPty(run, () => orHang(run.done, HANG_MS, 'migrate on a 0-column terminal'));
    expect(code).toBe(0);
    const stdout = readFileSync(out, 'utf8');
    expect(stdout).toContain('Applied 3 migrations');
    // stdout is a file: no colour there, although stderr is a terminal.
    expect(stdout).not.toContain(ESC);
    await expectFinishedAndUnlocked(db);
    const lostOrDoubled = await expectNoneLostOrDoubled(db, names);
    recordReliability({
      row: 35,
      scenario: 'migrate on a pty of 0 columns, stdout to a file',
      fault: 'stty cols 0 rows 0 (Kubernetes tty: true, docker run -t)',
      result: 'applied 3, exit 0, lock released, plain stdout',
      runners: 1,
      lostOrDoubled,
    });
  });

  it('[row 35] dev on a pty of 0 columns creates and applies its migration', async () => {
    const db = await newDatabase('digilog_pty0_dev');
    const dir = writeMigrations({});
    const schema = join(dir, '..', 'schema.prisma');
    writeFileSync(schema, 'datasource db {\n  provider = "postgresql"\n}\n\nmodel Note {\n  id Int @id\n}\n');
    const run = startInPty(['dev', '--name', 'notes', '--schema', schema, '--migrations-dir', dir], { columns: 0, env: { DATABASE_URL: db.url } });
    const { code } = await withPty(run, () => orHang(run.done, HANG_MS * 2, 'dev on a 0-column terminal'));
    expect(code).toBe(0);
    expect(await db.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'Note'`)).toHaveLength(1);
    expect(await db.query(ADVISORY_LOCKS)).toEqual([]);
    recordReliability({ row: 35, scenario: 'dev on a pty of 0 columns', fault: 'stty cols 0 rows 0', result: 'migration created and applied, exit 0', runners: 1 });
  });

  it('[row 35] SIGTERM on a pty of 0 columns mid-migration: the current migration finishes, exit 11, lock released', async () => {
    const db = await newDatabase('digilog_pty0_term');
    const { names, dir } = slowSteps(4);
    const run = startInPty(['migrate', '--migrations-dir', dir], { columns: 0, env: { DATABASE_URL: db.url } });
    const { code } = await withPty(run, async (pid) => {
      await migrationRunning(db);
      process.kill(pid, 'SIGTERM');
      return orHang(run.done, HANG_MS, 'SIGTERM not honoured on a 0-column terminal');
    });
    expect(code).toBe(EXIT_CODES.interrupted);
    const rows = await expectFinishedAndUnlocked(db);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect((await runCli(['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url })).code).toBe(0);
    const lostOrDoubled = await expectNoneLostOrDoubled(db, names);
    recordReliability({
      row: 35,
      scenario: 'SIGTERM to migrate on a pty of 0 columns',
      fault: 'SIGTERM while migration 1 of 4 runs',
      result: `current migration finished, exit ${EXIT_CODES.interrupted}, lock released; next run applied the rest`,
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  });

  it('[row 35] the terminal closes mid-migration (SIGHUP): the current migration finishes, lock released, nothing recorded failed', async () => {
    const db = await newDatabase('digilog_pty_hup');
    const { names, dir } = slowSteps(4);
    const run = startInPty(['migrate', '--migrations-dir', dir], { columns: 80, rows: 24, env: { DATABASE_URL: db.url } });
    await withPty(run, async (pid) => {
      await migrationRunning(db);
      // The terminal's owner dies: the kernel hangs the terminal up and sends digilog-db SIGHUP.
      process.kill(run.script.pid!, 'SIGKILL');
      await orHang(exited(pid), HANG_MS, 'migrate after its terminal closed');
    });
    const rows = await expectFinishedAndUnlocked(db);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThan(4);
    const next = await runCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).applied.length).toBe(4 - rows.length);
    const lostOrDoubled = await expectNoneLostOrDoubled(db, names);
    recordReliability({
      row: 35,
      scenario: 'the terminal closes during migrate (ssh session ends)',
      fault: 'pty hung up (SIGHUP) while migration 1 of 4 runs',
      result: 'current migration finished, none recorded failed, lock released; next run applied the rest',
      runners: 1,
      faults: 1,
      lostOrDoubled,
    });
  });

  it('[row 35] a terminal that stops reading: migrate still finishes and releases the lock, and SIGTERM ends it', async () => {
    const db = await newDatabase('digilog_pty_blocked');
    const dir = writeMigrations({ '20240101000000_table': 'CREATE TABLE t (id int);\n' });
    const env = { DATABASE_URL: db.url, DIGILOG_LARGE_TABLE_ROWS: '0' };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    // 300 findings on an existing table: ~80 kB of report on stderr, more than a terminal buffers.
    addMigration(dir, '20240101000001_indexes', Array.from({ length: 300 }, (_, i) => `CREATE INDEX t_i_${i} ON t (id);`).join('\n'));
    const run = startInPty(['migrate', '--migrations-dir', dir], { columns: 80, rows: 24, env });
    await withPty(run, async (pid) => {
      process.kill(run.script.pid!, 'SIGSTOP');
      const applied = async () => {
        for (;;) {
          const rows = await history(db);
          if (rows.length === 2 && rows.every((r) => r.finished) && (await db.query(ADVISORY_LOCKS)).length === 0) return;
          await sleep(50);
        }
      };
      await orHang(applied(), HANG_MS, 'migrate while its terminal does not read (lock held)');
      process.kill(pid, 'SIGTERM');
      await orHang(exited(pid), HANG_MS, 'SIGTERM while the terminal does not read');
      process.kill(run.script.pid!, 'SIGCONT');
    });
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 't'`)).toEqual([{ n: 300 }]);
    recordReliability({
      row: 35,
      scenario: 'a terminal that stops reading (Ctrl-S, stalled ssh)',
      fault: 'terminal owner stopped (SIGSTOP) before ~80 kB of output',
      result: 'migration applied, lock released while output waited; SIGTERM honoured',
      runners: 1,
      faults: 1,
      lostOrDoubled: 0,
    });
  });
});

describe('colour, per stream', () => {
  const badFlag = ['migrate', '--lock-timeout', '5x'];
  const env = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unused' };
  const red = `${ESC}31mError:`;

  it('stderr on a terminal is coloured although stdout is a file', async () => {
    const run = startInPty(badFlag, { columns: 80, env, redirect: '> /dev/null' });
    const { code } = await withPty(run, () => orHang(run.done, HANG_MS, 'usage error'));
    expect(code).toBe(EXIT_CODES.usage);
    expect(run.screen()).toContain(red);
  });

  it('stderr to a file is plain although stdout is a terminal', async () => {
    const err = join(mkdtempSync(join(tmpdir(), 'digilog-pty-err-')), 'err.txt');
    const run = startInPty(badFlag, { columns: 80, env, redirect: `2> '${err}'` });
    const { code } = await withPty(run, () => orHang(run.done, HANG_MS, 'usage error'));
    expect(code).toBe(EXIT_CODES.usage);
    const stderr = readFileSync(err, 'utf8');
    expect(stderr).toContain('Error: --lock-timeout');
    expect(stderr).not.toContain(ESC);
  });

  it('FORCE_COLOR=0 turns colour off on a terminal', async () => {
    const run = startInPty(badFlag, { columns: 80, env: { ...env, FORCE_COLOR: '0' } });
    const { code } = await withPty(run, () => orHang(run.done, HANG_MS, 'usage error'));
    expect(code).toBe(EXIT_CODES.usage);
    expect(run.screen()).toContain('Error: --lock-timeout');
    expect(run.screen()).not.toContain(red);
  });
});
