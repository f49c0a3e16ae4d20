/**
 * `lint --format github|sarif|markdown|junit` through the built binary (issue #17): golden outputs
 * on the fixture histories (UPDATE_GOLDEN=1 rewrites them), exact annotations on a CRLF file,
 * SARIF validated against the official 2.1.0 schema with stable fingerprints and suppressions,
 * the format flag's usage errors, and failures rendered in the format asked for.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIXED_SQL as sql } from '../fixtures/positions.js';
import { EXIT_CODES } from '../../src/errors.js';
import { lint } from '../../src/plan/lint.js';
import { FORMATS } from '../../src/output/format.js';
import { FINGERPRINT_KEY } from '../../src/output/formats/sarif.js';
import { runCli } from '../support/cli.js';
import { expectGolden, validateSarif } from '../support/golden.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, REPO_ROOT, writeMigrations } from '../support/migrations.js';

describe('annotations on a CRLF file with comments and multi-byte names', () => {
  it('lint --format github on such a file annotates the exact lines (a BOM file is one PostgreSQL rejects: line 1, column 1)', async () => {
    const dir = writeMigrations({ '20240101000000_crlf': sql.replace(/^\uFEFF/, ''), '20240102000000_bom': '\uFEFFCREATE TABLE a (id int);\r\n' });
    const run = await runCli(['lint', dir, '--format', 'github']);
    expect(run.code).toBe(EXIT_CODES['dangerous-blocked']);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.find((l) => l.includes('[drop-table]'))).toMatch(/^::error file=.*20240101000000_crlf\/migration\.sql,line=3,endLine=3,col=30,endColumn=44,title=Dangerous \[drop-table\]%3A 20240101000000_crlf #2::drops a table/);
    expect(lines.find((l) => l.includes('[drop-column]'))).toMatch(/,line=5,endLine=6,col=3,title=/);
    expect(lines.find((l) => l.includes('[delete-without-where]'))).toMatch(/,line=7,endLine=7,col=14,endColumn=27,/);
    expect(lines.find((l) => l.includes('20240102000000_bom'))).toMatch(/^::warning file=.*20240102000000_bom\/migration\.sql,line=1,endLine=1,col=1,endColumn=1,title=20240102000000_bom%3A not parsed::/);
  });
});

describe('SARIF 2.1.0', () => {
  const sarifOf = async (dir: string) => JSON.parse((await runCli(['lint', dir, '--format', 'sarif'])).stdout) as { runs: Array<{ tool: { driver: { version: string; rules: Array<Record<string, any>> } }; results: Array<Record<string, any>> }> };

  it.each(FIXTURE_HISTORIES)('%s: valid against the official schema; one rule per classifier rule, one result per finding', async (history) => {
    const dir = join(HISTORIES_DIR, history);
    const log = await sarifOf(dir);
    expect(validateSarif(log)).toEqual([]);
    const [run] = log.runs;
    expect(run!.tool.driver.version).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'packages/cli/package.json'), 'utf8')).version);
    const { RULES } = await import('../../src/plan/rules.js');
    expect(run!.tool.driver.rules.map((r) => r.id)).toEqual([...Object.keys(RULES), 'parse-error']);
    for (const rule of run!.tool.driver.rules) expect(Object.keys(rule)).toEqual(expect.arrayContaining(['id', 'shortDescription', 'fullDescription', 'help', 'defaultConfiguration']));
    const linted = await lint([dir], undefined);
    expect(run!.results.length).toBe(linted.files.flatMap((f) => f.findings).filter((f) => f.level !== 'safe').length);
    for (const result of run!.results) {
      expect(run!.tool.driver.rules[result.ruleIndex]!.id).toBe(result.ruleId);
      expect(result.locations[0].physicalLocation.region.startLine).toBeGreaterThan(0);
      expect(result.partialFingerprints[FINGERPRINT_KEY]).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(new Set(run!.results.map((r) => r.partialFingerprints[FINGERPRINT_KEY])).size).toBe(run!.results.length);
  });

  it('the schema check is real: a region on line 0 or a result level SARIF does not know is rejected', async () => {
    const log = await sarifOf(join(HISTORIES_DIR, 'renames-drops-and-backfills'));
    log.runs[0]!.results[0]!.locations[0].physicalLocation.region.startLine = 0;
    log.runs[0]!.results[1]!.level = 'dangerous';
    expect(validateSarif(log).join('\n')).toMatch(/startLine[\s\S]*level|level[\s\S]*startLine/);
  });

  it('fingerprints survive lines added above the statement; acknowledged findings are suppressed results', async () => {
    const sql = 'CREATE TABLE a (id int);\nDROP TABLE b;\n';
    const dir = writeMigrations({ '20240101000000_drop': sql });
    const before = (await sarifOf(dir)).runs[0]!.results;
    writeFileSync(join(dir, '20240101000000_drop', 'migration.sql'), `-- a comment\n\n${sql.replace('DROP', '\n  DROP')}`);
    const after = (await sarifOf(dir)).runs[0]!.results;
    expect(after.map((r) => r.locations[0].physicalLocation.region.startLine)).not.toEqual(before.map((r) => r.locations[0].physicalLocation.region.startLine));
    expect(after.map((r) => r.partialFingerprints)).toEqual(before.map((r) => r.partialFingerprints));
    writeFileSync(join(dir, 'digilog.acknowledgements'), '20240101000000_drop drop-table\n');
    const acknowledged = (await sarifOf(dir)).runs[0]!.results.find((r) => r.ruleId === 'drop-table')!;
    expect(acknowledged.suppressions).toEqual([{ kind: 'external', justification: expect.stringContaining('digilog.acknowledgements') }]);
    expect(validateSarif(await sarifOf(dir))).toEqual([]);
  });
});

describe('golden outputs of lint on the fixture histories', () => {
  it.each(FIXTURE_HISTORIES.flatMap((history) => (['github', 'sarif', 'markdown', 'junit'] as const).map((format) => [history, format] as const)))('%s --format %s', async (history, format) => {
    const run = await runCli(['lint', join(HISTORIES_DIR, history), '--format', format]);
    expect(run.stderr).toBe('');
    expect([EXIT_CODES.ok, EXIT_CODES['dangerous-blocked']]).toContain(run.code);
    expectGolden(`lint/${history}.${{ github: 'txt', sarif: 'sarif', markdown: 'md', junit: 'xml' }[format]}`, run.stdout);
  });
});

describe('--format on the command line', () => {
  it('an unknown format: one line, exit 2, nothing on stdout', async () => {
    const run = await runCli(['lint', join(HISTORIES_DIR, FIXTURE_HISTORIES[0]!), '--format', 'xml']);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr.split('\n')[0]).toBe(`Error: --format must be one of ${FORMATS.join(', ')} (got "xml")`);
    expect(run.stdout).toBe('');
  });

  it('--format json is --json; --json with another format is exit 2; a CI format on migrate needs --dry-run', async () => {
    const dir = join(HISTORIES_DIR, FIXTURE_HISTORIES[0]!);
    const [short, long] = await Promise.all([runCli(['lint', dir, '--json']), runCli(['lint', dir, '--format', 'json'])]);
    expect(long.stdout).toBe(short.stdout);
    expect(JSON.parse(long.stdout).ok).toBe(true);
    const both = await runCli(['lint', dir, '--json', '--format', 'sarif']);
    expect(both.code).toBe(EXIT_CODES.usage);
    expect(both.stderr).toContain('--json and --format sarif cannot be combined');
  });

  it('a failure in a CI format is still one document of that format on stdout (missing path, exit 2)', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'digilog-missing-')), 'nowhere');
    const sarif = await runCli(['lint', missing, '--format', 'sarif']);
    expect(sarif.code).toBe(EXIT_CODES.usage);
    const log = JSON.parse(sarif.stdout);
    expect(validateSarif(log)).toEqual([]);
    expect(log.runs[0].invocations[0]).toMatchObject({ executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: expect.stringContaining('No such file or folder') } }] });
    const github = await runCli(['lint', missing, '--format', 'github']);
    expect(github.stdout).toMatch(/^::error title=digilog-db failed::No such file or folder: .*%0ANext: /);
    const junit = await runCli(['lint', missing, '--format', 'junit']);
    expect(junit.stdout).toContain('errors="1"');
    expect(junit.stdout).toContain('<error type="usage" message="No such file or folder');
    const migrate = await runCli(['migrate', '--format', 'markdown']);
    expect(migrate.code).toBe(EXIT_CODES.usage);
    expect(migrate.stdout).toContain('--format markdown needs --dry-run');
  });
});
