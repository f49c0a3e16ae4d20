#!/usr/bin/env node
// `pnpm reliability`: the reliability table of docs/reliability.md, generated from what the last `pnpm test`
// recorded (reliability-results.jsonl, written by recordReliability() in the tests) joined with
// each test's status in vitest's JSON report (test-results.json). Nothing in it is typed by hand.
//
//   node scripts/reliability-table.mjs            replaces the table between the markers of docs/reliability.md
//   node scripts/reliability-table.mjs --stdout   prints it instead
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The rows of ../shared/TEST-MATRIX.md that this project proves: 1–29, then 35 and 36 of the second
// round. Rows 30–34 (online migrations, expand/contract, rollbacks, fleets) are not implemented, so
// they are not listed as missing either.
export const MATRIX_ROWS = [...Array.from({ length: 29 }, (_, i) => i + 1), 35, 36, 37];
export const START = '<!-- reliability-table:start -->';
export const END = '<!-- reliability-table:end -->';
const ROW_PREFIX = /^\[rows? (\d+(?:\s*,\s*\d+)*)\]/;

/** Parses reliability-results.jsonl (one JSON record per line; blank lines ignored). */
export function parseRecords(text) {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** Test statuses from vitest's JSON report, keyed by `<file relative to root>::<describe > … > title>`. */
export function testStatuses(report, root) {
  const statuses = new Map();
  for (const file of report?.testResults ?? []) {
    for (const test of file.assertionResults ?? []) {
      statuses.set(testKey(root, file.name, [...(test.ancestorTitles ?? []), test.title].join(' > ')), { status: test.status, title: test.title, file: file.name });
    }
  }
  return statuses;
}

function testKey(root, file, name) {
  const path = isAbsolute(file ?? '') ? relative(root, file) : (file ?? '');
  return `${path.split('\\').join('/')}::${name}`;
}

const cell = (value) => String(value ?? '').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const sum = (records, field) => records.reduce((n, r) => n + (Number.isFinite(r[field]) ? r[field] : 0), 0);

/**
 * Pure: records + vitest report → Markdown. Each record's status is its test's status;
 * a `[row N]` test that failed before recording appears as FAILED too; matrix rows with no
 * record are listed as not covered in this run.
 */
export function renderTable(records, report, { root = process.cwd(), matrixRows = MATRIX_ROWS } = {}) {
  const statuses = testStatuses(report, root);
  const rows = records.map((record) => {
    const test = statuses.get(testKey(root, record.file, record.test));
    return { ...record, status: test?.status === 'passed' ? 'passed' : test ? 'FAILED' : 'no test result' };
  });
  const recordedTests = new Set(records.map((r) => testKey(root, r.file, r.test)));
  for (const [key, test] of statuses) {
    const match = ROW_PREFIX.exec(test.title);
    if (!match || test.status === 'passed' || recordedTests.has(key)) continue;
    if (test.status === 'skipped' || test.status === 'pending' || test.status === 'todo') continue;
    for (const row of match[1].split(',').map(Number)) {
      rows.push({ row, scenario: test.title.replace(ROW_PREFIX, '').trim(), fault: '—', result: 'test failed before recording its evidence', status: 'FAILED' });
    }
  }
  rows.sort((a, b) => a.row - b.row || String(a.scenario).localeCompare(String(b.scenario)));

  const lines = ['| row | scenario | fault injected | result | status |', '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.row} | ${cell(r.scenario)} | ${cell(r.fault)} | ${cell(r.result)} | ${r.status} |`);
  const runners = records.reduce((max, r) => Math.max(max, Number.isFinite(r.runners) ? r.runners : 0), 0);
  const lost = sum(records, 'lostOrDoubled');
  const leaked = sum(records, 'leakedPasswords');
  const failed = rows.filter((r) => r.status !== 'passed').length;
  lines.push(
    '',
    `Totals: ${rows.length} scenario${rows.length === 1 ? '' : 's'} (${failed === 0 ? 'all passed' : `${failed} not passed`}); ` +
      `runners at once (max) ${runners}; faults survived ${sum(records, 'faults')}; bad inputs tried ${sum(records, 'badInputs')}; ` +
      `migrations lost or doubled ${lost}${lost === 0 ? '' : ' ✘'}; passwords leaked ${leaked}${leaked === 0 ? '' : ' ✘'}.`,
  );
  const covered = new Set(rows.map((r) => r.row));
  const missing = matrixRows.filter((row) => !covered.has(row));
  if (missing.length > 0) lines.push('', `Not covered in this run: ${missing.map((row) => `row ${row}`).join(', ')}.`);
  return `${lines.join('\n')}\n`;
}

/** Replaces the text between the markers (which must both exist, in order). Pure. */
export function replaceBetweenMarkers(doc, table) {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`the document needs ${START} and ${END} markers, in that order`);
  return `${doc.slice(0, start + START.length)}\n${table}${doc.slice(end)}`;
}

function main(argv) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const option = (name, fallback) => {
    const i = argv.indexOf(name);
    return i === -1 ? fallback : resolve(argv[i + 1]);
  };
  const resultsFile = option('--results', join(root, 'reliability-results.jsonl'));
  const reportFile = option('--report', join(root, 'test-results.json'));
  // The README stays a short entry point; the report lives in docs/.
  const docFile = option('--doc', join(root, 'docs', 'reliability.md'));
  for (const file of [resultsFile, reportFile]) {
    if (!existsSync(file)) {
      process.stderr.write(`Error: ${relative(root, file)} not found: run \`pnpm test\` first (it writes both files).\n`);
      process.exit(2);
    }
  }
  const table = renderTable(parseRecords(readFileSync(resultsFile, 'utf8')), JSON.parse(readFileSync(reportFile, 'utf8')), { root });
  if (argv.includes('--stdout')) {
    process.stdout.write(table);
    return;
  }
  writeFileSync(docFile, replaceBetweenMarkers(readFileSync(docFile, 'utf8'), table));
  process.stderr.write(`Reliability table written to ${relative(root, docFile)}.\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
