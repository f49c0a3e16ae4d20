// What `pnpm bench` writes into the docs: the benchmark table of docs/benchmarks.md and the squawk
// table of docs/squawk.md, each between its markers, from the run's own numbers (never pasted).
// Pure functions, plus one that rewrites a file; bench/run.mjs calls them after the run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiLines } from './api.mjs';
import { TABLE_HEADER, applyLines } from './apply.mjs';
import { devLines } from './dev.mjs';
import { ROOT } from './lib.mjs';
import { onlineLines } from './online.mjs';
import { rollbackLines } from './rollback.mjs';
import { squawkLines } from './squawk.mjs';
import { growthLines, growthSummary, statusLine } from './status.mjs';

export const BENCHMARKS_DOC = join(ROOT, 'docs', 'benchmarks.md');
export const SQUAWK_DOC = join(ROOT, 'docs', 'squawk.md');
export const BENCHMARKS_MARKERS = { start: '<!-- benchmarks-table:start -->', end: '<!-- benchmarks-table:end -->' };
export const SQUAWK_MARKERS = { start: '<!-- squawk-table:start -->', end: '<!-- squawk-table:end -->' };

/**
 * The run as Markdown: one line naming the date, machine and runs, then the table in the order
 * the benchmarks ran, then the growth summary. Each part is optional, so a partial run renders too.
 */
export function renderBenchmarks({ date, machine, runs, apply = [], status, growth = [], api = [], dev = [], rollback, online }) {
  const rows = [...applyLines(apply), ...(status ? [statusLine(status)] : []), ...growthLines(growth), ...apiLines(api), ...devLines(dev), ...rollbackLines(rollback)];
  const lines = [`Run of ${date}: ${machine}, medians of ${runs} (\`pnpm bench\`).`, '', ...TABLE_HEADER, ...rows];
  const summary = growthSummary(growth);
  if (summary) lines.push('', summary);
  if (online) lines.push('', ...onlineLines(online));
  return `${lines.join('\n')}\n`;
}

/** The squawk comparison as Markdown, with the date of its run. */
export function renderSquawk(result, date) {
  return `Run of ${date} (\`pnpm bench\`):\n\n${squawkLines(result).join('\n')}\n`;
}

/** Replaces the text between the markers (both must exist, in order). Pure. */
export function replaceBetweenMarkers(doc, text, { start, end }) {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to === -1 || to < from) throw new Error(`the document needs ${start} and ${end} markers, in that order`);
  return `${doc.slice(0, from + start.length)}\n${text}${doc.slice(to)}`;
}

export function writeBetweenMarkers(file, text, markers) {
  writeFileSync(file, replaceBetweenMarkers(readFileSync(file, 'utf8'), text, markers));
}
