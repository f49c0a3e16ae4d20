/**
 * The CI formats' pure parts (issue #17): statement positions from PostgreSQL's byte offsets
 * (multi-byte text, comments, CRLF, a BOM, parse errors), GitHub's escaping on real findings,
 * Markdown and XML escaping, and --format found on a command line.
 */
import { describe, expect, it } from 'vitest';
import { MIXED_SQL as sql } from '../fixtures/positions.js';
import { lint } from '../../src/plan/lint.js';
import { formatInArgv } from '../../src/output/format.js';
import { escapeData, escapeProperty, workflowCommand } from '../../src/output/formats/github.js';
import { cell } from '../../src/output/formats/markdown.js';
import { xml } from '../../src/output/formats/junit.js';
import { locateStatements } from '../../src/output/locate.js';
import { buildReport, renderReport, toolInfo } from '../../src/output/render.js';
import type { FindingsReport } from '../../src/output/report.js';
import { SourceText } from '../../src/output/source-map.js';
import { REPO_ROOT, addMigration, writeMigrations } from '../support/migrations.js';

/** What a region points at, read back from the file independently: the text of its start line from its start column. */
function textAt(sql: string, line: number, column: number): string {
  const lines = sql.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  return lines[line - 1]!.slice(column - 1);
}

describe('statement positions (byte offsets → lines and columns)', () => {
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

describe('--format on a command line', () => {
  it('is found in argv for errors raised before any command ran; an unknown value is text', () => {
    expect(formatInArgv(['node', 'x', 'lint', '--format=junit'])).toBe('junit');
    expect(formatInArgv(['node', 'x', 'lint', '--json'])).toBe('json');
    expect(formatInArgv(['node', 'x', 'lint', '--format', 'nope'])).toBe('text');
  });
});
