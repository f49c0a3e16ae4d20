// Rollback generation: `rollback --last 20 --create-only` on the largest shared history (the down SQL
// computed by the schema engine from the history, the catalogs read, schema.prisma introspected at the
// target, the result classified and written) against `diff` alone (the history replayed in a shadow
// database, then diffed with the schema). Goal: ≤ 2× `diff`. Short runs: BENCH_RUNS (default 3).
// Run it with `node bench/rollback.mjs` after `pnpm build`; it prints one row per measurement.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, WORKLOADS_DIR, fmt, median, timeCommand, withDatabase } from './lib.mjs';
import { onProductRuntime } from './runtime.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const UNDONE = 20;
const SCHEMA = 'generator client {\n  provider        = "prisma-client"\n  output          = "../generated"\n  previewFeatures = ["partialIndexes"]\n}\n\ndatasource db {\n  provider = "postgresql"\n}\n';

/** The shared history with the most migrations. */
function largestHistory() {
  const histories = readdirSync(WORKLOADS_DIR)
    .map((name) => join(WORKLOADS_DIR, name, 'migrations'))
    .filter((dir) => existsSync(dir));
  return histories.sort((a, b) => readdirSync(b).length - readdirSync(a).length)[0];
}

/** A project (migrations + schema.prisma) in a temp folder. */
function project(migrations, schemaText) {
  const root = mkdtempSync(join(tmpdir(), 'digilog-bench-rollback-'));
  cpSync(migrations, join(root, 'prisma', 'migrations'), { recursive: true });
  writeFileSync(join(root, 'prisma', 'schema.prisma'), schemaText);
  return { root, schema: join(root, 'prisma', 'schema.prisma') };
}

export async function runRollbackBenchmark() {
  if (!existsSync(WORKLOADS_DIR)) return { skipped: `no shared histories at ${WORKLOADS_DIR}` };
  const source = largestHistory();
  return withDatabase(async (url) => {
    const env = { DATABASE_URL: url };
    const base = project(source, SCHEMA);
    timeCommand(process.execPath, [BIN, 'migrate', '--schema', base.schema], env);
    // schema.prisma as the project has it: matching the history (rollback checks it, then sets it back).
    timeCommand(process.execPath, [BIN, 'pull', '--schema', base.schema], env);
    const diffRuns = [];
    const rollbackRuns = [];
    for (let i = 0; i < RUNS; i++) {
      diffRuns.push(timeCommand(process.execPath, [BIN, 'diff', '--schema', base.schema], env));
      // --create-only changes only the folder and schema.prisma: each run gets a fresh copy of both.
      const copy = project(join(base.root, 'prisma', 'migrations'), readFileSync(base.schema, 'utf8'));
      rollbackRuns.push(timeCommand(process.execPath, [BIN, 'rollback', '--last', String(UNDONE), '--create-only', '--schema', copy.schema], env));
      rmSync(copy.root, { recursive: true, force: true });
    }
    rmSync(base.root, { recursive: true, force: true });
    const diffMs = median(diffRuns);
    const rollbackMs = median(rollbackRuns);
    return { history: source, migrations: readdirSync(source).length - 1, diffMs, rollbackMs, ratio: rollbackMs / diffMs, met: rollbackMs / diffMs <= 2 };
  });
}

/** The R1 row for docs/benchmarks.md (none when the shared histories are absent): pure. */
export function rollbackLines(result) {
  if (!result || result.skipped) return [];
  return [`| R1 | \`rollback --last ${UNDONE} --create-only\` on ${result.history.split('/').at(-2)} (${result.migrations} migrations) vs \`diff\` | ${fmt(result.rollbackMs)} | ${fmt(result.diffMs)} | ${result.ratio.toFixed(2)}× | ≤ 2×${result.met ? ' ✔' : ' ✘'} |`];
}

export function printRollbackRow(result) {
  if (result.skipped) console.log(`R1 rollback generation: skipped (${result.skipped})`);
  else for (const line of rollbackLines(result)) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  onProductRuntime();
  printRollbackRow(await runRollbackBenchmark());
}
