/**
 * The CI formats of `lint` (issue #17): statement positions from PostgreSQL's byte offsets
 * (multi-byte text, comments, CRLF, a BOM), GitHub's escaping, SARIF 2.1.0 validated against
 * its official schema with stable fingerprints, and golden outputs of every format on the
 * fixture histories through the built binary (UPDATE_GOLDEN=1 rewrites them).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { lint } from '../src/plan/lint.js';
import { FORMATS, formatInArgv } from '../src/output/format.js';
import { escapeData, escapeProperty, workflowCommand } from '../src/output/formats/github.js';
import { cell } from '../src/output/formats/markdown.js';
import { FINGERPRINT_KEY } from '../src/output/formats/sarif.js';
import { xml } from '../src/output/formats/junit.js';
import { locateStatements } from '../src/output/locate.js';
import { buildReport, renderReport, toolInfo } from '../src/output/render.js';
import type { FindingsReport } from '../src/output/report.js';
import { SourceText } from '../src/output/source-map.js';
import { runCli } from './support/cli.js';
import { expectGolden, validateSarif } from './support/golden.js';
import { FIXTURE_HISTORIES, HISTORIES_DIR, REPO_ROOT, addMigration, writeMigrations } from './support/migrations.js';

/** What a region points at, read back from the file independently: the text of its start line from its start column. */
function textAt(sql: string, line: number, column: number): string {
  const lines = sql.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  return lines[line - 1]!.slice(column - 1);
}

describe('statement positions (byte offsets → lines and columns)', () => {
  const sql = [
    '\uFEFF-- héllo wörld, a comment the parser counts as part of the first statement',
    'CREATE TABLE "é" (id int);',
    '/* a /* nested */ comment */ DROP TABLE "ü";',
    '',
    '  ALTER TABLE "ß"',
    '    DROP COLUMN c;',
    "SELECT '😀'; DELETE FROM t;",
  ].join('\r\n');

  it('puts each statement of a CRLF file with a BOM, multi-byte names and comments on its first keyword', async () => {
    const { statements, parseError } = await locateStatements(sql);
    expect(parseError).toBeUndefined();
    expect(statements).toEqual([
      { startLine: 2, startColumn: 1, endLine: 2, endColumn: 26 },
      { startLine: 3, startColumn: 30, endLine: 3, endColumn: 44 },
      { startLine: 5, startColumn: 3, endLine: 6, endColumn: 18 },
      { startLine: 7, startColumn: 1, endLine: 7, endColumn: 12 },
      // The emoji is two UTF-16 code units (SARIF's columnKind), four UTF-8 bytes.
      { startLine: 7, startColumn: 14, endLine: 7, endColumn: 27 },
    ]);
    const keywords = statements.map((r) => textAt(sql, r.startLine, r.startColumn).split(/\s/)[0]);
    expect(keywords).toEqual(['CREATE', 'DROP', 'ALTER', 'SELECT', 'DELETE']);
    // The end column is just after the statement's last character (the semicolon is not part of it).
    expect(statements.map((r) => textAt(sql, r.endLine, r.endColumn)[0])).toEqual([';', ';', ';', ';', ';']);
  });

  it('LF and lone-CR files give the same lines as CRLF; a file without a BOM starts at column 1', async () => {
    for (const eol of ['\n', '\r']) {
      const text = sql.replace(/^\uFEFF/, '').replace(/\r\n/g, eol);
      expect((await locateStatements(text)).statements).toEqual((await locateStatements(sql)).statements);
    }
    expect(new SourceText('\uFEFFab').positionOf(1)).toEqual({ line: 1, column: 1 });
    expect(new SourceText('ab').positionOf(1)).toEqual({ line: 1, column: 2 });
  });

  it("a file PostgreSQL's parser rejects: the error's line and column (it counts characters)", async () => {
    const { parseError } = await locateStatements("SELECT 'é😀';\r\n  SELEC 2;");
    expect(parseError?.message).toMatch(/syntax error at or near "SELEC"/);
    expect(parseError?.region).toMatchObject({ startLine: 2, startColumn: 3 });
  });

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

describe('GitHub workflow-command escaping', () => {
  it('escapes %, CR and LF in messages, and also : and , in properties', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('a:b,c%d\ne')).toBe('a%3Ab%2Cc%25d%0Ae');
    expect(workflowCommand('warning', { file: 'x,y:z.sql', line: 3, col: undefined }, 'one\ntwo %')).toBe('::warning file=x%2Cy%3Az.sql,line=3::one%0Atwo %25');
  });

  it('a real migration whose folder and table names hold , : % and a newline stays one annotation, decoded back to the original', async () => {
    const dir = writeMigrations({});
    const name = '20240101000000_odd,name:100%';
    addMigration(dir, name, 'CREATE TABLE a (id int);\nDROP TABLE "50%,off:\nnow";\n');
    const report = (await buildReport({ command: 'lint', result: await lint([], dir) }, REPO_ROOT)) as FindingsReport;
    const out = renderReport('github', report, toolInfo());
    const annotation = out.split('\n').find((l) => l.startsWith('::error '))!;
    expect(annotation).not.toMatch(/[\r]/);
    const [, props, message] = /^::error (.*?)::(.*)$/.exec(annotation)!;
    const decode = (s: string) => s.replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
    const fields = Object.fromEntries(props!.split(',').map((p) => p.split('=') as [string, string]));
    expect(decode(fields.file!)).toBe(`${report.files[0]!.path}`);
    expect(decode(fields.file!)).toContain(`${name}/migration.sql`);
    expect(decode(fields.title!)).toBe(`Dangerous [drop-table]: ${name} #2`);
    expect(fields.line).toBe('2');
    expect(decode(message!)).toContain('drops a table and all its data (50%,off:\nnow)');
  });

  it('markdown cells and XML text cannot break out of their table or element', () => {
    expect(cell('a | b\n<script>&')).toBe('a \\| b<br>&lt;script&gt;&amp;');
    expect(xml('<a b="c">&\u0001')).toBe('&lt;a b=&quot;c&quot;&gt;&amp;');
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
    const { RULES } = await import('../src/plan/rules.js');
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

  it('--format json is --json; --json with another format is exit 2; the format is found in argv for early errors', async () => {
    const dir = join(HISTORIES_DIR, FIXTURE_HISTORIES[0]!);
    const [short, long] = await Promise.all([runCli(['lint', dir, '--json']), runCli(['lint', dir, '--format', 'json'])]);
    expect(long.stdout).toBe(short.stdout);
    expect(JSON.parse(long.stdout).ok).toBe(true);
    const both = await runCli(['lint', dir, '--json', '--format', 'sarif']);
    expect(both.code).toBe(EXIT_CODES.usage);
    expect(both.stderr).toContain('--json and --format sarif cannot be combined');
    expect(formatInArgv(['node', 'x', 'lint', '--format=junit'])).toBe('junit');
    expect(formatInArgv(['node', 'x', 'lint', '--format', 'nope'])).toBe('text');
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
