// P3: a cold `digilog-db status --json` on an up-to-date 300-migration database vs the floor, a
// Node process that opens one pg connection and runs one query. Then the growth curve: `migrate`
// (full apply) and `status` (up to date) at 10, 100 and 1000 synthetic migrations.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, fmt, median, syntheticHistory, timeCommand, withDatabase } from './lib.mjs';
import { onProductRuntime } from './runtime.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Cold starts are cheap and noisy: twice the runs. */
const STATUS_RUNS = RUNS * 2;
export const GROWTH_SIZES = (process.env.BENCH_GROWTH ?? '10,100,1000').split(',').map(Number);

/** The floor script: import pg, connect, one query, exit (pg resolved from the CLI package, as the CLI does). */
function floorScript() {
  const file = join(mkdtempSync(join(tmpdir(), 'digilog-bench-floor-')), 'one-query.mjs');
  const pgPath = createRequire(join(ROOT, 'packages/cli/package.json')).resolve('pg');
  writeFileSync(
    file,
    `import pg from ${JSON.stringify(pgPath)};\nconst client = new pg.Client({ connectionString: process.env.DATABASE_URL });\nawait client.connect();\nawait client.query('SELECT migration_name FROM _prisma_migrations');\nawait client.end();\n`,
  );
  return file;
}

const status = (dir, url) => timeCommand(process.execPath, [BIN, 'status', '--json', '--migrations-dir', dir], { DATABASE_URL: url });
const migrate = (dir, url) => timeCommand(process.execPath, [BIN, 'migrate', '--migrations-dir', dir], { DATABASE_URL: url });

export async function runStatusBenchmark() {
  const dir = syntheticHistory(300);
  const floor = floorScript();
  return withDatabase(async (url) => {
    migrate(dir, url);
    const ours = [];
    const bare = [];
    // One unmeasured run each warms the OS file cache, as on a machine that has run them before.
    status(dir, url);
    timeCommand(process.execPath, [floor], { DATABASE_URL: url });
    for (let i = 0; i < STATUS_RUNS; i++) {
      bare.push(timeCommand(process.execPath, [floor], { DATABASE_URL: url }));
      ours.push(status(dir, url));
    }
    return { id: 'P3', label: 'cold `status --json`, up-to-date 300-migration database, vs node + pg: one connection, one query', ours: median(ours), floor: median(bare), ratio: median(ours) / median(bare), goal: 2 };
  });
}

/** migrate (full apply, fresh database per run) and status (up to date) per size. */
export async function runGrowthCurve() {
  const points = [];
  for (const n of GROWTH_SIZES) {
    const dir = syntheticHistory(n);
    const applyRuns = [];
    const statusRuns = [];
    const runs = n >= 1000 ? Math.min(RUNS, 3) : RUNS;
    for (let i = 0; i < runs; i++) {
      await withDatabase(async (url) => {
        applyRuns.push(migrate(dir, url));
        statusRuns.push(status(dir, url));
      });
    }
    points.push({ n, migrate: median(applyRuns), status: median(statusRuns), runs });
  }
  return points;
}

export function statusLine(row) {
  return `| ${row.id} | ${row.label} | ${fmt(row.ours)} | ${fmt(row.floor)} | ${row.ratio.toFixed(2)}× | ≤ ${row.goal}× ${row.ratio <= row.goal ? '✔' : '✘'} |`;
}

export function printStatusRow(row) {
  console.log(statusLine(row));
}

export function growthLines(points) {
  return [
    ...points.map((p) => `| G | growth: \`migrate\` of ${p.n} migrations (full apply) | ${fmt(p.migrate)} | — | ${(p.migrate / p.n).toFixed(1)} ms/migration | report |`),
    ...points.map((p) => `| G | growth: \`status\` with ${p.n} applied (up to date) | ${fmt(p.status)} | — | ${(p.status / p.n).toFixed(2)} ms/migration | report |`),
  ];
}

export function printGrowthRows(points) {
  for (const line of growthLines(points)) console.log(line);
}

/** One line under the table: the marginal cost of one more migration, start-up excluded. */
export function growthSummary(points) {
  if (points.length < 2) return '';
  const [first, last] = [points[0], points.at(-1)];
  // Signed: a slope inside the noise can come out negative.
  const marginal = (key) => {
    const ms = (last[key] - first[key]) / (last.n - first.n);
    return `${ms < 0 ? '−' : '+'}${Math.abs(ms).toFixed(2)}`;
  };
  return `Growth from ${first.n} to ${last.n} migrations: migrate ${marginal('migrate')} ms and status ${marginal('status')} ms per added migration (start-up excluded).`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  onProductRuntime();
  console.log('| id | benchmark | digilog-db | floor | ratio | goal |');
  console.log('|---|---|---|---|---|---|');
  printStatusRow(await runStatusBenchmark());
  const points = await runGrowthCurve();
  printGrowthRows(points);
  console.log(`\n${growthSummary(points)}`);
}
