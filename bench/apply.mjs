// P1 and P2: applying migration histories with `digilog-db migrate` (a whole CLI process)
// vs the floor, psql in one session with one transaction per file (also a whole process).
// Beside them, the Node floor (node-apply-floor.mjs): the same files sent from a bare Node
// process with node-postgres, the least any Node.js runner can do; and the peers (peers.mjs):
// dbmate 2.36 and Prisma's own schema engine, on the same files.
// Runs alternate between all of them so drift in the machine's speed hits all alike.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, WORKLOADS_DIR, fmt, median, psqlApplyScript, syntheticHistory, timeCommand, withDatabase } from './lib.mjs';
import { PRISMA_ENGINE_APPLY, dbmateArgs, dbmateBinary, dbmateMigrations, engineSchema } from './peers.mjs';
import { onProductRuntime } from './runtime.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NODE_FLOOR = fileURLToPath(new URL('./node-apply-floor.mjs', import.meta.url));

async function compare(label, migrationsDir) {
  const ours = [];
  const floor = [];
  const nodeFloor = [];
  const dbmate = [];
  const engine = [];
  const script = psqlApplyScript(migrationsDir);
  const dbmateDir = dbmateMigrations(migrationsDir);
  const dbmateBin = dbmateBinary();
  const schema = engineSchema();
  for (let i = 0; i < RUNS; i++) {
    await withDatabase((url) => floor.push(timeCommand('psql', ['-X', '-q', '-d', url, '-f', script])));
    await withDatabase((url) => nodeFloor.push(timeCommand(process.execPath, [NODE_FLOOR, migrationsDir], { DATABASE_URL: url })));
    await withDatabase((url) => ours.push(timeCommand(process.execPath, [BIN, 'migrate', '--migrations-dir', migrationsDir], { DATABASE_URL: url })));
    if (dbmateDir) await withDatabase((url) => dbmate.push(timeCommand(dbmateBin, dbmateArgs(url, dbmateDir))));
    await withDatabase((url) => engine.push(timeCommand(process.execPath, [PRISMA_ENGINE_APPLY, migrationsDir, schema], { DATABASE_URL: url })));
  }
  const base = median(floor);
  return {
    label,
    migrations: readdirSync(migrationsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).length,
    ours: median(ours),
    floor: base,
    ratio: median(ours) / base,
    nodeFloor: median(nodeFloor),
    nodeFloorRatio: median(nodeFloor) / base,
    // null: dbmate cannot express the history (two folders share a version prefix).
    dbmate: dbmateDir ? median(dbmate) : null,
    dbmateRatio: dbmateDir ? median(dbmate) / base : null,
    engine: median(engine),
    engineRatio: median(engine) / base,
  };
}

export async function runApplyBenchmarks() {
  const rows = [];
  rows.push({ id: 'P1', goal: 1.3, ...(await compare('300 synthetic migrations (CREATE TABLE + INDEX)', syntheticHistory(300))) });
  for (const workload of ['hoppscotch-hoppscotch', 'mfts-papermark', 'documenso-documenso']) {
    const row = await compare(`real history: ${workload}`, join(WORKLOADS_DIR, workload, 'migrations'));
    // ≤ 1.3× psql is the goal of a history of 100 migrations or more; a shorter one is mostly Node's start.
    rows.push({ id: 'P2', goal: row.migrations >= 100 ? 1.3 : 'report', ...row });
  }
  return rows;
}

export const TABLE_HEADER = ['| id | benchmark | digilog-db | floor | ratio | goal |', '|---|---|---|---|---|---|'];

/**
 * Table rows (Markdown lines) of the apply benchmarks: pure, so docs/benchmarks.md is written from the same lines.
 * The goal of a history is ≤ its ratio to psql when it has 100 migrations or more (a short history is mostly
 * Node's start), and ahead of dbmate wherever dbmate can run it.
 */
export function applyLines(rows) {
  return rows.flatMap((r) => {
    const peers = [];
    if (r.dbmate !== undefined) {
      peers.push(
        r.dbmate === null
          ? `| ${r.id} | ↳ dbmate 2.36: cannot run this history (two folders share a version prefix) | — | ${fmt(r.floor)} | — | — |`
          : `| ${r.id} | ↳ dbmate 2.36, same files: one transaction per file plus its version row | ${fmt(r.dbmate)} | ${fmt(r.floor)} | ${r.dbmateRatio.toFixed(2)}× | digilog-db ahead ${r.ours < r.dbmate ? '✔' : '✘'} |`,
      );
    }
    if (r.engine !== undefined) peers.push(`| ${r.id} | ↳ Prisma's schema engine (WebAssembly \`applyMigrations\`, as \`migrate deploy\`) | ${fmt(r.engine)} | ${fmt(r.floor)} | ${r.engineRatio.toFixed(2)}× | reference |`);
    return [
      `| ${r.id} | ${r.label} | ${fmt(r.ours)} | ${fmt(r.floor)} | ${r.ratio.toFixed(2)}× | ${typeof r.goal === 'number' ? `≤ ${r.goal}× ${r.ratio <= r.goal ? '✔' : '✘'}` : `report (${r.migrations} migrations, under 100)`} |`,
      `| ${r.id} | ↳ Node floor, same files: bare node + pg, one transaction per file | ${fmt(r.nodeFloor)} | ${fmt(r.floor)} | ${r.nodeFloorRatio.toFixed(2)}× | reference |`,
      ...peers,
    ];
  });
}

export function printRows(rows) {
  for (const line of [...TABLE_HEADER, ...applyLines(rows)]) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  onProductRuntime();
  printRows(await runApplyBenchmarks());
}
