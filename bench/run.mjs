// `pnpm bench`: every benchmark, ratios measured side by side in one run, medians of repeated runs.
import { runApiBenchmarks, printApiRows } from './api.mjs';
import { printRows, runApplyBenchmarks } from './apply.mjs';
import { printDevRows, runDevBenchmarks } from './dev.mjs';
import { machine } from './lib.mjs';
import { compareWithSquawk, printSquawkRows } from './squawk.mjs';
import { growthSummary, printGrowthRows, printStatusRow, runGrowthCurve, runStatusBenchmark } from './status.mjs';

console.log(`digilog-db benchmarks, ${new Date().toISOString().slice(0, 10)}`);
console.log(`machine: ${machine()}`);
console.log(`runs per measurement: ${process.env.BENCH_RUNS ?? 5} (median)\n`);
printRows(await runApplyBenchmarks());
printStatusRow(await runStatusBenchmark());
const growth = await runGrowthCurve();
printGrowthRows(growth);
printApiRows(await runApiBenchmarks());
printDevRows(await runDevBenchmarks());
printSquawkRows(await compareWithSquawk());
console.log(`\n${growthSummary(growth)}`);
