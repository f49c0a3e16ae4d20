/** The reliability table generator (scripts/reliability-table.mjs, writing docs/reliability.md) on a tiny fixture. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { END, MATRIX_ROWS, START, parseRecords, renderTable, replaceBetweenMarkers, type VitestReport } from '../../../../scripts/reliability-table.mjs';
import { REPO_ROOT } from '../support/migrations.js';

const ROOT = '/repo';
const records = parseRecords(
  [
    JSON.stringify({ row: 25, scenario: 'password | search', fault: 'wrong password', result: 'none found', runners: 1, badInputs: 7, leakedPasswords: 0, test: 'security > [row 25] leaks', file: '/repo/packages/cli/test/e2e/security.e2e.test.ts' }),
    '',
    JSON.stringify({ row: 1, scenario: '16 runners', fault: 'start together', result: 'each once', runners: 16, faults: 0, lostOrDoubled: 0, test: '[row 1] runners', file: '/repo/packages/cli/test/faults/concurrency.test.ts' }),
    JSON.stringify({ row: 7, scenario: 'kill -9', fault: 'SIGKILL', result: 'recovered', runners: 1, faults: 7, lostOrDoubled: 1, test: '[row 7] kill', file: '/repo/packages/cli/test/faults/crash.test.ts' }),
  ].join('\n'),
);
const report: VitestReport = {
  testResults: [
    { name: '/repo/packages/cli/test/e2e/security.e2e.test.ts', assertionResults: [{ ancestorTitles: ['security'], title: '[row 25] leaks', status: 'passed' }] },
    { name: '/repo/packages/cli/test/faults/concurrency.test.ts', assertionResults: [{ ancestorTitles: [], title: '[row 1] runners', status: 'passed' }] },
    {
      name: '/repo/packages/cli/test/faults/crash.test.ts',
      assertionResults: [
        { ancestorTitles: [], title: '[row 7] kill', status: 'failed' },
        { ancestorTitles: ['x'], title: '[rows 8, 9] failed before recording', status: 'failed' },
        { ancestorTitles: [], title: 'not a matrix test', status: 'failed' },
      ],
    },
  ],
};

describe('reliability table', () => {
  const table = renderTable(records, report, { root: ROOT });

  it('joins each record with its test status, sorted by row, and escapes cells', () => {
    const rows = table.split('\n').filter((line) => /^\| \d/.test(line));
    expect(rows).toEqual([
      '| 1 | 16 runners | start together | each once | passed |',
      '| 7 | kill -9 | SIGKILL | recovered | FAILED |',
      '| 8 | failed before recording | — | test failed before recording its evidence | FAILED |',
      '| 9 | failed before recording | — | test failed before recording its evidence | FAILED |',
      '| 25 | password \\| search | wrong password | none found | passed |',
    ]);
  });

  it('totals: runners max, the rest summed; lost or leaked above 0 is marked', () => {
    expect(table).toContain('Totals: 5 scenarios (3 not passed); runners at once (max) 16; faults survived 7; bad inputs tried 7; migrations lost or doubled 1 ✘; passwords leaked 0.');
  });

  it('lists the matrix rows without a record: 1–29, 35, 36 and 37, never the unimplemented 30–34', () => {
    expect(MATRIX_ROWS).toEqual([...Array.from({ length: 29 }, (_, i) => i + 1), 35, 36, 37]);
    const missing = MATRIX_ROWS.filter((row) => ![1, 7, 8, 9, 25].includes(row));
    expect(table).toContain(`Not covered in this run: ${missing.map((row) => `row ${row}`).join(', ')}.`);
  });

  it('places a row beyond 29 in order and counts it as covered', () => {
    const late = parseRecords(JSON.stringify({ row: 35, scenario: 'pty of 0 columns', fault: 'stty cols 0', result: 'exit 0', test: '[row 35] pty', file: '/repo/packages/cli/test/e2e/terminal.e2e.test.ts' }));
    const lateReport: VitestReport = {
      testResults: [...report.testResults, { name: '/repo/packages/cli/test/e2e/terminal.e2e.test.ts', assertionResults: [{ ancestorTitles: [], title: '[row 35] pty', status: 'passed' }] }],
    };
    const lines = renderTable([...records, ...late], lateReport, { root: ROOT }).split('\n');
    expect(lines.filter((line) => /^\| \d/.test(line)).map((line) => line.split(' | ')[0])).toEqual(['| 1', '| 7', '| 8', '| 9', '| 25', '| 35']);
    const notCovered = lines.find((line) => line.startsWith('Not covered'))!;
    expect(notCovered).toContain('row 29, row 36, row 37.');
    expect(notCovered).not.toMatch(/row (30|31|32|33|34|35)\b/);
  });

  it('replaces only the text between the markers', () => {
    const doc = `# x\n\n## Reliability\n${START}\nold\n${END}\n\n## Next\n`;
    expect(replaceBetweenMarkers(doc, 'new\n')).toBe(`# x\n\n## Reliability\n${START}\nnew\n${END}\n\n## Next\n`);
    expect(() => replaceBetweenMarkers('# no markers\n', 'x')).toThrow(/markers/);
  });

  it('the table lives between the markers of docs/reliability.md, not in the README', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'reliability.md'), 'utf8');
    expect(doc.indexOf(START)).toBeGreaterThan(-1);
    expect(doc.indexOf(END)).toBeGreaterThan(doc.indexOf(START));
    expect(doc.slice(doc.indexOf(START), doc.indexOf(END))).toMatch(/^\| row \| scenario \| fault injected \| result \| status \|$/m);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).not.toContain(START);
    expect(readme).toContain('(docs/reliability.md)');
  });

  it('`pnpm reliability` (the script itself) rewrites the table of the document it is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'digilog-reliability-'));
    const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(join(dir, 'results.jsonl'), jsonl);
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report));
    writeFileSync(join(dir, 'reliability.md'), `# Reliability\n\n${START}\nold table\n${END}\n\nafter\n`);
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'reliability-table.mjs'), '--results', join(dir, 'results.jsonl'), '--report', join(dir, 'report.json'), '--doc', join(dir, 'reliability.md')], { stdio: 'pipe' });
    const written = readFileSync(join(dir, 'reliability.md'), 'utf8');
    expect(written).not.toContain('old table');
    expect(written).toContain('| 25 | password \\| search | wrong password | none found |');
    expect(written.startsWith(`# Reliability\n\n${START}\n| row |`)).toBe(true);
    expect(written.endsWith(`${END}\n\nafter\n`)).toBe(true);
  });
});
