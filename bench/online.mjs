// P7 / P7b: one Prisma-shaped migration (CREATE INDEX, ADD FOREIGN KEY, SET NOT NULL, ADD UNIQUE)
// applied under a live read/write load (pgbench with a custom script on loopback), (a) as Prisma
// applies it, one transaction with no lock_timeout (psql --single-transaction), and (b) with
// `digilog-db migrate --online`, beside a run without any migration. P7b adds one idle-in-transaction
// session holding ACCESS SHARE on the big table. Numbers are printed, never asserted.
//
//   node bench/online.mjs                      # quick sizes (see the defaults below)
//   BENCH_P7_ROWS=1000000 BENCH_P7_SECONDS=40 BENCH_P7B_HOLD_S=20 node bench/online.mjs   # the issue's sizes, on a quiet machine
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, psqlAdmin, urlFor } from './lib.mjs';
import { onProductRuntime } from './runtime.mjs';

const ROWS = Number(process.env.BENCH_P7_ROWS ?? 200_000);
const REFERENCING = Number(process.env.BENCH_P7_REFERENCING_ROWS ?? Math.round(ROWS / 2));
const CLIENTS = Number(process.env.BENCH_P7_CLIENTS ?? 4);
const SECONDS = Number(process.env.BENCH_P7_SECONDS ?? 12);
const START_AT_S = Number(process.env.BENCH_P7_START_S ?? 2);
const HOLD_S = Number(process.env.BENCH_P7B_HOLD_S ?? 6);
// One attempt's lock_timeout for --online (DIGILOG_LOCK_TIMEOUT): the P7 goal (max ≤ 300 ms) needs attempts well
// under it. PostgreSQL itself gets a margin less (serverLockTimeoutMs), so that writers stall no longer than it.
const LOCK_TIMEOUT = process.env.BENCH_P7_LOCK_TIMEOUT ?? '200ms';
const ATTEMPT_MS = /ms$/.test(LOCK_TIMEOUT) ? parseFloat(LOCK_TIMEOUT) : parseFloat(LOCK_TIMEOUT) * 1000;

const SCHEMA = `CREATE TABLE "Account" ("id" SERIAL PRIMARY KEY, "email" TEXT, "handle" TEXT, "name" TEXT, "balance" INTEGER NOT NULL DEFAULT 0);
CREATE TABLE "Order" ("id" SERIAL PRIMARY KEY, "accountId" INTEGER, "amount" INTEGER NOT NULL);
`;
const MIGRATION = `-- CreateIndex
CREATE INDEX "Account_email_idx" ON "Account"("email");
-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- AlterTable
ALTER TABLE "Account" ALTER COLUMN "name" SET NOT NULL;
-- CreateIndex
ALTER TABLE "Account" ADD CONSTRAINT "Account_handle_key" UNIQUE ("handle");
`;
// A realistic mix: a read, a write on the big table, an insert into the referencing one.
const SCRIPT = `\\set aid random(1, ${ROWS})
BEGIN;
SELECT name, balance FROM "Account" WHERE id = :aid;
UPDATE "Account" SET balance = balance + 1 WHERE id = :aid;
INSERT INTO "Order" ("accountId", amount) VALUES (:aid, 1);
END;
`;

function project() {
  const root = mkdtempSync(join(tmpdir(), 'digilog-p7-'));
  const dir = join(root, 'prisma', 'migrations');
  mkdirSync(join(dir, '20240101000000_init'), { recursive: true });
  mkdirSync(join(dir, '20240102000000_online'), { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  writeFileSync(join(dir, '20240101000000_init', 'migration.sql'), SCHEMA);
  writeFileSync(join(dir, '20240102000000_online', 'migration.sql'), MIGRATION);
  return { root, dir };
}

/** A template database: the init migration applied by digilog-db, ROWS accounts and REFERENCING orders. */
function template(dir) {
  const name = `digilog_p7_tmpl_${process.pid}`;
  psqlAdmin(`DROP DATABASE IF EXISTS ${name}`);
  psqlAdmin(`CREATE DATABASE ${name}`);
  const pending = join(dir, '20240102000000_online');
  const aside = join(dir, '..', 'pending-aside');
  execFileSync('mv', [pending, aside]);
  execFileSync(process.execPath, [BIN, 'migrate', '--migrations-dir', dir], { env: { ...process.env, DATABASE_URL: urlFor(name), NO_COLOR: '1' }, stdio: 'ignore' });
  execFileSync('mv', [aside, pending]);
  execFileSync('psql', ['-X', '-q', '-d', urlFor(name), '-c', `INSERT INTO "Account" (email, handle, name) SELECT 'u' || g || '@x.io', 'h' || g, 'n' || g FROM generate_series(1, ${ROWS}) g;
    INSERT INTO "Order" ("accountId", amount) SELECT 1 + (g % ${ROWS}), 1 FROM generate_series(1, ${REFERENCING}) g`, '-c', 'VACUUM ANALYZE'], { stdio: 'ignore' });
  return name;
}

function copyOf(tmpl, label) {
  const name = `digilog_p7_${label}_${process.pid}`;
  psqlAdmin(`DROP DATABASE IF EXISTS ${name}`);
  psqlAdmin(`CREATE DATABASE ${name} TEMPLATE ${tmpl}`);
  return name;
}

/** pgbench for SECONDS with a per-transaction log; resolves with its latencies and completion times. */
function load(url, logDir) {
  const script = join(logDir, 'mix.sql');
  writeFileSync(script, SCRIPT);
  return new Promise((resolve) => {
    const child = spawn('pgbench', ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-f', script, '-l', '--log-prefix', join(logDir, 'tx'), url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      const tx = [];
      for (const file of readdirSync(logDir).filter((f) => f.startsWith('tx'))) {
        for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
          const f = line.split(' ');
          // client tx latency_us script epoch_s epoch_us (plus a failure status with --failures-detailed)
          if (f.length >= 6) tx.push({ latencyMs: Number(f[2]) / 1000, endMs: Number(f[4]) * 1000 + Number(f[5]) / 1000 });
        }
      }
      const aborted = (err.match(/client \d+ aborted/g) ?? []).length + (err.match(/ERROR:/g) ?? []).length;
      resolve({ tx, errors: aborted, code });
    });
  });
}

function summarize(tx, errors) {
  const latencies = tx.map((t) => t.latencyMs).sort((a, b) => a - b);
  const ends = tx.map((t) => t.endMs).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < ends.length; i++) gap = Math.max(gap, ends[i] - ends[i - 1]);
  return {
    transactions: tx.length,
    errors,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    maxMs: latencies.at(-1) ?? 0,
    // The longest time in which no transaction (each one writes) completed: writes were blocked.
    writeBlockedMs: gap,
  };
}

/** One phase: load for SECONDS; at START_AT_S run `migration` (and the blocker, for P7b). */
async function phase(tmpl, label, dir, migration, { blocker = false } = {}) {
  const db = copyOf(tmpl, label);
  const url = urlFor(db);
  const logDir = mkdtempSync(join(tmpdir(), `digilog-p7-${label}-`));
  const running = load(url, logDir);
  await new Promise((r) => setTimeout(r, START_AT_S * 1000));
  let hold;
  if (blocker) {
    // psql fed over stdin: after the SELECT the session sits idle in its transaction until COMMIT arrives.
    const client = spawn('psql', ['-X', '-q', '-d', url], { env: { ...process.env, PGAPPNAME: 'report-job' }, stdio: ['pipe', 'ignore', 'inherit'] });
    client.stdin.write('BEGIN; SELECT 1 FROM "Account" LIMIT 1;\n');
    await new Promise((r) => setTimeout(r, 200));
    hold = new Promise((r) => setTimeout(r, HOLD_S * 1000)).then(() => {
      client.stdin.end('COMMIT;\n');
      return new Promise((r) => client.on('close', r));
    });
  }
  const started = performance.now();
  const outcome = migration ? await migration(url, dir) : { ok: true };
  const migrationS = migration ? (performance.now() - started) / 1000 : 0;
  await hold;
  const { tx, errors } = await running;
  psqlAdmin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  return { label, ...summarize(tx, errors), migrationS, migrated: outcome.ok };
}

const prismaStyle = async (url, dir) => {
  // What `prisma migrate deploy` sends: the file in one transaction, no lock_timeout.
  const result = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url, '-f', join(dir, '20240102000000_online', 'migration.sql')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((r) => result.on('close', (code) => r({ ok: code === 0 })));
};
const online = async (url, dir) => {
  const result = spawn(process.execPath, [BIN, 'migrate', '--online', '--migrations-dir', dir], { env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1', DIGILOG_LOCK_TIMEOUT: LOCK_TIMEOUT }, stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((r) => result.on('close', (code) => r({ ok: code === 0 })));
};

/** Runs P7 and P7b; returns their rows. */
export async function runOnlineBenchmarks() {
  const { dir } = project();
  const { serverLockTimeoutMs } = await import(join(ROOT, 'packages/cli/dist/online/attempt-timing.js'));
  // The first migration goes on the template; every phase starts from a copy of it.
  const tmpl = template(dir);
  try {
    const baseline = await phase(tmpl, 'baseline', dir, null);
    const p7 = [baseline, await phase(tmpl, 'prisma', dir, prismaStyle), await phase(tmpl, 'online', dir, online)];
    const p7b = [await phase(tmpl, 'prisma_blocked', dir, prismaStyle, { blocker: true }), await phase(tmpl, 'online_blocked', dir, online, { blocker: true })];
    return { baseline, p7, p7b, serverLockTimeoutMs: serverLockTimeoutMs(ATTEMPT_MS) };
  } finally {
    psqlAdmin(`DROP DATABASE IF EXISTS ${tmpl} WITH (FORCE)`);
  }
}

/** Prints the rows with the goals: --online 0 errors and max latency ≤ 300 ms (≤ baseline max + one lock attempt). */
export function printOnlineRows({ baseline, p7, p7b, serverLockTimeoutMs }) {
  const fmt = (r) =>
    `  ${r.label.padEnd(16)} ${String(r.transactions).padStart(7)} tx  errors ${String(r.errors).padStart(2)}  p99 ${r.p99Ms.toFixed(1).padStart(7)} ms  max ${r.maxMs.toFixed(0).padStart(6)} ms  writes blocked ${r.writeBlockedMs.toFixed(0).padStart(6)} ms  migration ${r.migrationS.toFixed(2)} s${r.migrated ? '' : ' (FAILED)'}`;
  console.log(`\nP7 online migration under load: ${ROWS} rows + ${REFERENCING} referencing, ${CLIENTS} pgbench clients, ${SECONDS} s, migration at ${START_AT_S} s; --online with DIGILOG_LOCK_TIMEOUT=${LOCK_TIMEOUT} per attempt (PostgreSQL's lock_timeout: ${serverLockTimeoutMs} ms)`);
  for (const r of p7) console.log(fmt(r));
  const o = p7.find((r) => r.label === 'online');
  console.log(`  goal --online: 0 errors, max ≤ 300 ms and ≤ baseline max (${baseline.maxMs.toFixed(0)} ms) + one lock attempt (${LOCK_TIMEOUT}): ${o.errors === 0 && o.maxMs <= 300 ? '✔' : '✘'} (max ${o.maxMs.toFixed(0)} ms)`);
  console.log(`\nP7b the same, with one idle-in-transaction session holding ACCESS SHARE on "Account" for ${HOLD_S} s`);
  for (const r of p7b) console.log(fmt(r));
  const b = p7b.find((r) => r.label === 'online_blocked');
  const strict = b.maxMs <= ATTEMPT_MS;
  const relative = b.maxMs <= ATTEMPT_MS + baseline.maxMs;
  console.log(`  goal --online: writers' max ≤ one lock_timeout (${LOCK_TIMEOUT}) and the migration succeeds: ${strict && b.migrated ? '✔' : '✘'} (max ${b.maxMs.toFixed(0)} ms; ≤ lock_timeout + baseline max: ${relative ? 'yes' : 'no'})`);
  const a = p7b.find((r) => r.label === 'prisma_blocked');
  console.log(`  as Prisma: writers blocked ${a.writeBlockedMs.toFixed(0)} ms, max ${a.maxMs.toFixed(0)} ms${a.migrated ? '' : ', and the migration failed (see its error above: a deadlock with the load, or the blocker)'}`);
}

/** The P7/P7b runs as Markdown table lines for docs/benchmarks.md: pure. */
export function onlineLines({ baseline, p7, p7b, serverLockTimeoutMs, sizes = { rows: ROWS, referencing: REFERENCING, clients: CLIENTS, seconds: SECONDS, holdS: HOLD_S, lockTimeout: LOCK_TIMEOUT } }) {
  const attemptMs = /ms$/.test(sizes.lockTimeout) ? parseFloat(sizes.lockTimeout) : parseFloat(sizes.lockTimeout) * 1000;
  const row = (id, r, goal) =>
    `| ${id} | ${r.label} | ${r.errors} | ${r.p99Ms.toFixed(1)} ms | ${r.maxMs.toFixed(0)} ms | ${r.writeBlockedMs.toFixed(0)} ms | ${r.label === 'baseline' ? '—' : `${r.migrationS.toFixed(2)} s${r.migrated ? '' : ' (failed)'}`} | ${goal} |`;
  const online = p7.find((r) => r.label === 'online');
  const blocked = p7b.find((r) => r.label === 'online_blocked');
  return [
    `P7: ${sizes.rows} rows plus ${sizes.referencing} referencing rows, ${sizes.clients} pgbench clients for ${sizes.seconds} s, one Prisma-shaped migration (CREATE INDEX, ADD FOREIGN KEY, SET NOT NULL, ADD UNIQUE); --online with a ${sizes.lockTimeout} lock_timeout per attempt${serverLockTimeoutMs ? ` (DIGILOG_LOCK_TIMEOUT; PostgreSQL's own lock_timeout ${serverLockTimeoutMs} ms, a margin for its timer and the writers' own run)` : ''}. P7b: the same with an idle-in-transaction session holding ACCESS SHARE for ${sizes.holdS} s.`,
    '',
    '| id | run | client errors | p99 | max latency | writes blocked | migration | goal |',
    '|---|---|---|---|---|---|---|---|',
    ...p7.map((r) => row('P7', r, r === online ? `0 errors, max ≤ 300 ms ${online.errors === 0 && online.maxMs <= 300 ? '✔' : '✘'}` : 'reference')),
    ...p7b.map((r) => row('P7b', r, r === blocked ? `max ≤ ${sizes.lockTimeout}, migrated ${blocked.maxMs <= attemptMs && blocked.migrated ? '✔' : '✘'}` : 'reference')),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  onProductRuntime();
  printOnlineRows(await runOnlineBenchmarks());
}
