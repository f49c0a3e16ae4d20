/** What `pnpm bench` writes into docs/benchmarks.md and docs/squawk.md (bench/report.mjs), on a small fake run. */
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BENCHMARKS_DOC,
  BENCHMARKS_MARKERS,
  SQUAWK_DOC,
  SQUAWK_MARKERS,
  renderBenchmarks,
  renderSquawk,
  replaceBetweenMarkers,
  writeBetweenMarkers,
  type BenchmarkRun,
} from '../../../../bench/report.mjs';

// Shaped like the objects bench/*.mjs return; the numbers are made up.
const run: BenchmarkRun = {
  date: '2026-12-01',
  machine: '2 × Test CPU, 8 GiB, Node v20.0.0, PostgreSQL 15.0',
  runs: 3,
  apply: [
    { id: 'P1', label: '300 synthetic migrations', goal: 1.3, ours: 2600, floor: 2000, ratio: 1.3, nodeFloor: 2100, nodeFloorRatio: 1.05, dbmate: 2400, dbmateRatio: 1.2, engine: 3000, engineRatio: 1.5 },
    { id: 'P2', label: 'real history: papermark', goal: 1.3, ours: 1000, floor: 900, ratio: 1000 / 900, nodeFloor: 950, nodeFloorRatio: 950 / 900, dbmate: null, dbmateRatio: null, engine: 1800, engineRatio: 2 },
    { id: 'P2', label: 'real history: hoppscotch', goal: 'report', migrations: 21, ours: 400, floor: 250, ratio: 1.6, nodeFloor: 300, nodeFloorRatio: 1.2, dbmate: 230, dbmateRatio: 0.92, engine: 500, engineRatio: 2 },
  ],
  status: { id: 'P3', label: 'cold `status --json`', ours: 300, floor: 100, ratio: 3, goal: 2 },
  growth: [
    { n: 10, migrate: 600, status: 300, runs: 3 },
    { n: 100, migrate: 1500, status: 310, runs: 3 },
  ],
  api: [
    { id: 'P4', label: 'API boot', ours: 56, floor: 624, ratio: null, goal: '≤ 100 ms', met: true, unit: 'ms' },
    { id: 'P5', label: 'health req/s', ours: 5908.4, floor: 5493, ratio: 1.0756, goal: '≥ 0.8×', met: true, unit: 'req/s' },
    {
      id: 'P6',
      label: '16 boots vs one',
      ours: 9190,
      floor: 710,
      ratio: 12.94,
      goal: 'report',
      unit: 'ms',
      cpuFloor: { cpuSeconds: 1.02, cores: 2, floor: 8160, ratio: 9190 / 8160, goal: 1.25 },
    },
  ],
  dev: [
    { id: 'D1', label: '`dev --create-only`', ours: 1140, floor: null, ratio: null, goal: 'report' },
    { id: 'E2', label: 'warm start', ours: 1600, floor: null, ratio: null, goal: '≤ 1.5 s', met: false },
  ],
};

const blockOf = (doc: string, { start, end }: { start: string; end: string }) => doc.slice(doc.indexOf(start) + start.length, doc.indexOf(end));

describe('pnpm bench → docs/benchmarks.md', () => {
  it('renders the run: date and machine, one table in run order, goals marked, then the growth summary', () => {
    expect(renderBenchmarks(run).split('\n')).toEqual([
      'Run of 2026-12-01: 2 × Test CPU, 8 GiB, Node v20.0.0, PostgreSQL 15.0, medians of 3 (`pnpm bench`).',
      '',
      '| id | benchmark | digilog-db | floor | ratio | goal |',
      '|---|---|---|---|---|---|',
      '| P1 | 300 synthetic migrations | 2.60 s | 2.00 s | 1.30× | ≤ 1.3× ✔ |',
      '| P1 | ↳ Node floor, same files: bare node + pg, one transaction per file | 2.10 s | 2.00 s | 1.05× | reference |',
      '| P1 | ↳ dbmate 2.36, same files: one transaction per file plus its version row | 2.40 s | 2.00 s | 1.20× | digilog-db ahead ✘ |',
      "| P1 | ↳ Prisma's schema engine (WebAssembly `applyMigrations`, as `migrate deploy`) | 3.00 s | 2.00 s | 1.50× | reference |",
      '| P2 | real history: papermark | 1.00 s | 900 ms | 1.11× | ≤ 1.3× ✔ |',
      '| P2 | ↳ Node floor, same files: bare node + pg, one transaction per file | 950 ms | 900 ms | 1.06× | reference |',
      '| P2 | ↳ dbmate 2.36: cannot run this history (two folders share a version prefix) | — | 900 ms | — | — |',
      "| P2 | ↳ Prisma's schema engine (WebAssembly `applyMigrations`, as `migrate deploy`) | 1.80 s | 900 ms | 2.00× | reference |",
      '| P2 | real history: hoppscotch | 400 ms | 250 ms | 1.60× | report (21 migrations, under 100) |',
      '| P2 | ↳ Node floor, same files: bare node + pg, one transaction per file | 300 ms | 250 ms | 1.20× | reference |',
      '| P2 | ↳ dbmate 2.36, same files: one transaction per file plus its version row | 230 ms | 250 ms | 0.92× | digilog-db ahead ✘ |',
      "| P2 | ↳ Prisma's schema engine (WebAssembly `applyMigrations`, as `migrate deploy`) | 500 ms | 250 ms | 2.00× | reference |",
      '| P3 | cold `status --json` | 300 ms | 100 ms | 3.00× | ≤ 2× ✘ |',
      '| G | growth: `migrate` of 10 migrations (full apply) | 600 ms | — | 60.0 ms/migration | report |',
      '| G | growth: `migrate` of 100 migrations (full apply) | 1.50 s | — | 15.0 ms/migration | report |',
      '| G | growth: `status` with 10 applied (up to date) | 300 ms | — | 30.00 ms/migration | report |',
      '| G | growth: `status` with 100 applied (up to date) | 310 ms | — | 3.10 ms/migration | report |',
      '| P4 | API boot | 56 ms | 624 ms | — | ≤ 100 ms ✔ |',
      '| P5 | health req/s | 5908 req/s | 5493 req/s | 1.08× | ≥ 0.8× ✔ |',
      '| P6 | 16 boots vs one | 9.19 s | 710 ms | 12.94× | report |',
      "| P6 | ↳ CPU floor: one boot's CPU (1.02 s user+system) × 16 / 2 cores | 9.19 s | 8.16 s | 1.13× | ≤ 1.25× ✔ |",
      '| D1 | `dev --create-only` | 1.14 s | — | — | report |',
      '| E2 | warm start | 1.60 s | — | — | ≤ 1.5 s ✘ |',
      '',
      'Growth from 10 to 100 migrations: migrate +10.00 ms and status +0.11 ms per added migration (start-up excluded).',
      '',
    ]);
  });

  it('rewrites only the block between the markers of docs/benchmarks.md', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'digilog-bench-doc-')), 'benchmarks.md');
    copyFileSync(BENCHMARKS_DOC, copy);
    const before = readFileSync(copy, 'utf8');
    writeBetweenMarkers(copy, renderBenchmarks(run), BENCHMARKS_MARKERS);
    const after = readFileSync(copy, 'utf8');
    expect(blockOf(after, BENCHMARKS_MARKERS)).toBe(`\n${renderBenchmarks(run)}`);
    const outside = (doc: string) => [doc.slice(0, doc.indexOf(BENCHMARKS_MARKERS.start)), doc.slice(doc.indexOf(BENCHMARKS_MARKERS.end))];
    expect(outside(after)).toEqual(outside(before));
    expect(() => replaceBetweenMarkers('# no markers\n', 'x', BENCHMARKS_MARKERS)).toThrow(/markers/);
  });

  it('the table in docs/benchmarks.md has the shape the renderer writes (so the next run replaces it cleanly)', () => {
    const block = blockOf(readFileSync(BENCHMARKS_DOC, 'utf8'), BENCHMARKS_MARKERS).split('\n');
    const rendered = renderBenchmarks(run).split('\n');
    expect(block[1]).toMatch(/^Run of \d{4}-\d{2}-\d{2}: .+, medians of \d+ \(`pnpm bench`\)\.$/);
    expect(block.slice(3, 5)).toEqual(rendered.slice(2, 4));
    // The main table runs from its header to the first blank line (P7's own table follows it).
    const main = block.slice(3, block.indexOf('', 3));
    const rows = main.filter((line) => line.startsWith('| ') && !line.startsWith('| id '));
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row.split(' | ')).toHaveLength(6);
  });

  it('adds the rollback row to the table and P7/P7b as a table of their own, goals marked', () => {
    const load = (label: string, maxMs: number, migrated = true) => ({ label, transactions: 1000, errors: 0, p99Ms: 12.34, maxMs, writeBlockedMs: maxMs - 10, migrationS: 2.5, migrated });
    const baseline = load('baseline', 100);
    const text = renderBenchmarks({
      ...run,
      rollback: { history: '/w/documenso/migrations', migrations: 163, diffMs: 5000, rollbackMs: 9500, ratio: 1.9, met: true },
      online: {
        baseline,
        p7: [baseline, load('prisma', 4000, false), load('online', 250)],
        p7b: [load('prisma_blocked', 20000), load('online_blocked', 260)],
        sizes: { rows: 1000, referencing: 500, clients: 2, seconds: 5, holdS: 3, lockTimeout: '200ms' },
      },
    }).split('\n');
    expect(text).toContain('| R1 | `rollback --last 20 --create-only` on documenso (163 migrations) vs `diff` | 9.50 s | 5.00 s | 1.90× | ≤ 2× ✔ |');
    expect(text).toContain('| P7 | prisma | 0 | 12.3 ms | 4000 ms | 3990 ms | 2.50 s (failed) | reference |');
    expect(text).toContain('| P7 | online | 0 | 12.3 ms | 250 ms | 240 ms | 2.50 s | 0 errors, max ≤ 300 ms ✔ |');
    expect(text).toContain('| P7b | online_blocked | 0 | 12.3 ms | 260 ms | 250 ms | 2.50 s | max ≤ 200ms, migrated ✘ |');
  });
});

describe('pnpm bench → docs/squawk.md', () => {
  it('renders the comparison with its date and rewrites only its block', () => {
    const result = {
      rows: [{ workload: 'acme', files: 2, statements: 5, squawkFindings: 3, oursFlagged: 2, agreements: 2, disagreements: 1, classifyMs: 4.4, squawkMs: 120.6 }],
      disagreements: [{ workload: 'acme', file: 'acme/migrations/1_a/migration.sql', rule: 'ban-drop-column', statement: 'ALTER TABLE a\n  DROP COLUMN b', ours: 'safe' as const, why: 'because' }],
    };
    const text = renderSquawk(result, '2026-12-01');
    expect(text).toBe(
      [
        'Run of 2026-12-01 (`pnpm bench`):',
        '',
        '| workload | files | statements | squawk findings | ours Requires care/Dangerous | agreements | disagreements | our classify time | squawk time |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
        '| acme | 2 | 5 | 3 | 2 | 2 | 1 | 4 ms | 121 ms |',
        '',
        '- 1 × ban-drop-column → ours safe: because (e.g. acme/migrations/1_a/migration.sql: `ALTER TABLE a DROP COLUMN b`)',
        '',
      ].join('\n'),
    );
    const doc = readFileSync(SQUAWK_DOC, 'utf8');
    const written = replaceBetweenMarkers(doc, text, SQUAWK_MARKERS);
    expect(blockOf(written, SQUAWK_MARKERS)).toBe(`\n${text}`);
    expect(written.slice(written.indexOf(SQUAWK_MARKERS.end))).toBe(doc.slice(doc.indexOf(SQUAWK_MARKERS.end)));
  });
});
