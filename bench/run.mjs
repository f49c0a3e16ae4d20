// `pnpm bench`: every benchmark, ratios measured side by side in one run, medians of repeated runs.
// The run's numbers are printed and written into docs/benchmarks.md and docs/squawk.md (between
// their markers), so the docs always show a real run, never a pasted one.
import { relative } from 'node:path';
import { runApiBenchmarks, printApiRows } from './api.mjs';
import { printRows, runApplyBenchmarks } from './apply.mjs';
import { printDevRows, runDevBenchmarks } from './dev.mjs';
import { ROOT, machine } from './lib.mjs';
import { BENCHMARKS_DOC, BENCHMARKS_MARKERS, SQUAWK_DOC, SQUAWK_MARKERS, renderBenchmarks, renderSquawk, writeBetweenMarkers } from './report.mjs';
import { onlineLines, runOnlineBenchmarks } from './online.mjs';
import { printRollbackRow, runRollbackBenchmark } from './rollback.mjs';
import { compareWithSquawk, printSquawkRows } from './squawk.mjs';
import { growthSummary, printGrowthRows, printStatusRow, runGrowthCurve, runStatusBenchmark } from './status.mjs';
import { onProductRuntime } from './runtime.mjs';

onProductRuntime();

const date = new Date().toISOString().slice(0, 10);
const runs = process.env.BENCH_RUNS ?? 5;
const host = machine();
console.log(`digilog-db benchmarks, ${date}`);
console.log(`machine: ${host}`);
console.log(`runs per measurement: ${runs} (median)\n`);
const apply = await runApplyBenchmarks();
printRows(apply);
const status = await runStatusBenchmark();
printStatusRow(status);
const growth = await runGrowthCurve();
printGrowthRows(growth);
const api = await runApiBenchmarks();
printApiRows(api);
const dev = await runDevBenchmarks();
printDevRows(dev);
const rollback = await runRollbackBenchmark();
printRollbackRow(rollback);
// P7/P7b need pgbench (it ships with PostgreSQL); their sizes come from BENCH_P7_* (bench/online.mjs).
const online = await runOnlineBenchmarks();
for (const line of ['', ...onlineLines(online)]) console.log(line);
const squawk = await compareWithSquawk();
printSquawkRows(squawk);
console.log(`\n${growthSummary(growth)}`);

writeBetweenMarkers(BENCHMARKS_DOC, renderBenchmarks({ date, machine: host, runs, apply, status, growth, api, dev, rollback: rollback.skipped ? undefined : rollback, online }), BENCHMARKS_MARKERS);
writeBetweenMarkers(SQUAWK_DOC, renderSquawk(squawk, date), SQUAWK_MARKERS);
console.log(`\nWritten to ${relative(ROOT, BENCHMARKS_DOC)} and ${relative(ROOT, SQUAWK_DOC)}.`);
