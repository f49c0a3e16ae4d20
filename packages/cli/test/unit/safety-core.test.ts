/** The pure parts of the safety layer: directives, durations, live-database context, backup policy. */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/plan/classify.js';
import { applyContext, formatRows, type TableFacts } from '../../src/plan/context.js';
import { formatDuration, parseDuration, readDirectives } from '../../src/read/directives.js';
import { parseStatements } from '../../src/plan/execution-mode.js';
import { chooseBackupDir } from '../../src/deploy/backup.js';

describe('directives', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5min', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['250', 250],
    ['0', 0],
    ['10 s', 10_000],
    ['ten', undefined],
    ['5m', undefined],
    ['-1s', undefined],
  ])('parseDuration(%j) = %j', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('formats durations the way PostgreSQL and humans read them', () => {
    expect([0, 500, 1_000, 90_000, 3_600_000].map(formatDuration)).toEqual(['0', '500ms', '1s', '90s', '1h']);
  });

  it('reads every directive of a file, and names a bad one', () => {
    const d = readDirectives('-- digilog:allow drop-table, truncate\n-- digilog:lock-timeout 30s\n--digilog:statement-timeout 2h\n-- digilog:budget 5min\n-- digilog:no-transaction\nSELECT 1;');
    expect(d).toEqual({ noTransaction: true, allow: new Set(['drop-table', 'truncate']), lockTimeoutMs: 30_000, statementTimeoutMs: 7_200_000, budgetMs: 300_000 });
    expect(() => readDirectives('-- digilog:lock-timeout soon')).toThrow('"-- digilog:lock-timeout soon" is not a duration');
    expect(() => readDirectives('-- digilog:alow drop-table')).toThrow('unknown directive "-- digilog:alow"');
    expect(readDirectives('SELECT 1; -- not a directive: digilog:budget 1s')).toMatchObject({ budgetMs: undefined });
  });
});

describe('live-database context', () => {
  const facts = (entries: Record<string, TableFacts>) => new Map(Object.entries(entries));
  const findingsOf = async (sql: string) => classify(await parseStatements(sql), readDirectives(sql));

  it('escalates size-bound rules on big tables, relaxes them on small ones, and leaves unknown tables alone', async () => {
    const findings = await findingsOf('CREATE INDEX a ON big (x); CREATE INDEX b ON small (x); CREATE INDEX c ON missing (x); ALTER TABLE big DROP COLUMN y;');
    const out = applyContext(findings, {
      tables: facts({ big: { exists: true, estimatedRows: 2_500_000, empty: false }, small: { exists: true, estimatedRows: 40, empty: false }, missing: { exists: false, estimatedRows: null, empty: null } }),
      createdEarlier: new Set(),
      largeTableRows: 100_000,
    });
    expect(out.map((f) => [f.rule, f.ruleLevel, f.level])).toEqual([
      ['create-index', 'care', 'dangerous'],
      ['create-index', 'care', 'safe'],
      ['create-index', 'care', 'care'],
      ['drop-column', 'care', 'care'],
    ]);
    expect(out[0]!.context).toBe('"big" has ~2.5M rows (≥ 100k): SHARE held for the whole operation');
    expect(out[3]!.estimatedRows).toBe(2_500_000);
  });

  it('data-loss rules relax only on a table known to be empty; a table created earlier in the run counts as empty', async () => {
    const findings = await findingsOf('TRUNCATE t; DELETE FROM u; DROP TABLE t; ALTER TABLE n ADD COLUMN c int NOT NULL; UPDATE fresh SET a = 1;');
    const out = applyContext(findings, {
      tables: facts({ t: { exists: true, estimatedRows: 0, empty: true }, u: { exists: true, estimatedRows: 0, empty: null }, n: { exists: true, estimatedRows: 0, empty: true } }),
      createdEarlier: new Set(['fresh']),
      largeTableRows: 100_000,
    });
    expect(out.map((f) => [f.rule, f.level])).toEqual([
      ['truncate', 'safe'],
      ['delete-without-where', 'dangerous'],
      ['drop-table', 'care'],
      ['add-required-column', 'safe'],
      ['update-without-where', 'safe'],
    ]);
  });

  it('a table created earlier in the same file is new too', async () => {
    const out = applyContext(await findingsOf('CREATE TABLE t (id int); UPDATE t SET id = 1;'), { tables: new Map(), createdEarlier: new Set(), largeTableRows: 10 });
    expect(out[1]).toMatchObject({ rule: 'update-without-where', level: 'safe', context: '"t" is created earlier in this migration: still empty here' });
  });

  it('DROP INDEX carries the table of an index created or renamed earlier, across files when they share one map', async () => {
    const indexTables = new Map<string, string>();
    const first = classify(await parseStatements('CREATE TABLE t (id int); CREATE INDEX t_idx ON t (id); ALTER INDEX t_idx RENAME TO t_id_idx;'), undefined, indexTables);
    const second = classify(await parseStatements('DROP INDEX t_id_idx, unknown_idx;'), undefined, indexTables);
    expect(first[1]).toMatchObject({ rule: 'create-index-new-table', table: 't', index: 't_idx' });
    expect(second.map((f) => [f.rule, f.index, f.table])).toEqual([
      ['drop-index', 't_id_idx', 't'],
      ['drop-index', 'unknown_idx', undefined],
    ]);
    const out = applyContext(second, { tables: new Map(), createdEarlier: new Set(['t']), largeTableRows: 10 });
    expect(out.map((f) => f.level)).toEqual(['safe', 'care']);
  });

  it('DROP TYPE of an enum the deploy created is Safe; of another type, or with CASCADE, it keeps its level', async () => {
    const findings = await findingsOf('CREATE TYPE "Role" AS ENUM (\'a\'); DROP TYPE "Role"; DROP TYPE "Old"; DROP TYPE "Earlier" CASCADE; DROP TYPE public."Earlier";');
    const out = applyContext(findings, { tables: new Map(), createdEarlier: new Set(), typesCreatedEarlier: new Set(['Earlier']), largeTableRows: 10 });
    expect(out.map((f) => [f.rule, f.type, f.level])).toEqual([
      ['create-enum', 'Role', 'safe'],
      ['drop-type', 'Role', 'safe'],
      ['drop-type', 'Old', 'care'],
      ['drop-type', undefined, 'care'],
      ['drop-type', 'Earlier', 'safe'],
    ]);
    expect(out[1]!.context).toBe('type "Role" is created earlier in this migration: nothing running uses it yet');
    expect(out[4]!.context).toContain('by an earlier pending migration');
  });

  it('formats row counts', () => expect([0, 999, 15_300, 1_000_000, 1_234_567].map(formatRows)).toEqual(['0', '999', '15.3k', '1M', '1.2M']));
});

describe('backup policy', () => {
  const config = (over: Partial<{ backup: boolean | undefined; backupDir: string | undefined; isProduction: boolean }> = {}) => ({ backup: undefined, backupDir: undefined, isProduction: false, ...over });
  it.each([
    ['--no-backup wins', false, config({ isProduction: true, backup: true }), true, undefined],
    ['--backup <dir>', '/b', config(), false, '/b'],
    ['--backup', true, config({ backupDir: '/env' }), false, '/env'],
    ['DIGILOG_BACKUP=true', undefined, config({ backup: true }), false, '/default'],
    ['DIGILOG_BACKUP=false in production', undefined, config({ backup: false, isProduction: true }), true, undefined],
    ['production with pg_dump', undefined, config({ isProduction: true }), true, '/default'],
    ['production without pg_dump', undefined, config({ isProduction: true }), false, undefined],
    ['development', undefined, config(), true, undefined],
  ] as const)('%s', (_name, flag, cfg, pgDump, expected) => {
    expect(chooseBackupDir(flag, cfg, '/default', () => pgDump)).toBe(expected);
  });
});
