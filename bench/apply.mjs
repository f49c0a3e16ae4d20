// P1 and P2: applying migration histories with `digilog-db migrate` (a whole CLI process)
// vs the floor, psql in one session with one transaction per file (also a whole process).
// Beside them, the Node floor (node-apply-floor.mjs): the same files sent from a bare Node
// process with node-postgres, the least any Node.js runner can do.
// Runs alternate between the three so drift in the machine's speed hits all alike.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, WORKLOADS_DIR, fmt, median, psqlApplyScript, syntheticHistory, timeCommand, withDatabase } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NODE_FLOOR = fileURLToPath(new URL('./node-apply-floor.mjs', import.meta.url));

async function compare(label, migrationsDir) {
  const ours = [];
  const floor = [];
  const nodeFloor = [];
  const script = psqlApplyScript(migrationsDir);
  for (let i = 0; i < RUNS; i++) {
    await withDatabase((url) => floor.push(timeCommand('psql', ['-X', '-q', '-d', url, '-f', script])));
    await withDatabase((url) => nodeFloor.push(timeCommand(process.execPath, [NODE_FLOOR, migrationsDir], { DATABASE_URL: url })));
    await withDatabase((url) => ours.push(timeCommand(process.execPath, [BIN, 'migrate', '--migrations-dir', migrationsDir], { DATABASE_URL: url })));
  }
  return {
    label,
    ours: median(ours),
    floor: median(floor),
    ratio: median(ours) / median(floor),
    nodeFloor: median(nodeFloor),
    nodeFloorRatio: median(nodeFloor) / median(floor),
  };
}

export async function runApplyBenchmarks() {
  const rows = [];
  rows.push({ id: 'P1', goal: 1.3, ...(await compare('300 synthetic migrations (CREATE TABLE + INDEX)', syntheticHistory(300))) });
  for (const workload of ['hoppscotch-hoppscotch', 'mfts-papermark', 'documenso-documenso']) {
    rows.push({ id: 'P2', goal: 1.3, ...(await compare(`real history: ${workload}`, join(WORKLOADS_DIR, workload, 'migrations'))) });
  }
  return rows;
}

export const TABLE_HEADER = ['| id | benchmark | digilog-db | floor | ratio | goal |', '|---|---|---|---|---|---|'];

/** Table rows (Markdown lines) of the apply benchmarks: pure, so docs/benchmarks.md is written from the same lines. */
export function applyLines(rows) {
  return rows.flatMap((r) => [
    `| ${r.id} | ${r.label} | ${fmt(r.ours)} | ${fmt(r.floor)} | ${r.ratio.toFixed(2)}× | ≤ ${r.goal}× ${r.ratio <= r.goal ? '✔' : '✘'} |`,
    `| ${r.id} | ↳ Node floor, same files: bare node + pg, one transaction per file | ${fmt(r.nodeFloor)} | ${fmt(r.floor)} | ${r.nodeFloorRatio.toFixed(2)}× | reference |`,
  ]);
}

export function printRows(rows) {
  for (const line of [...TABLE_HEADER, ...applyLines(rows)]) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) printRows(await runApplyBenchmarks());
