// Agreement with squawk (a peer PostgreSQL migration linter, npm `squawk-cli`) over every
// migration of ../shared/workloads: each statement squawk flags with a blocking or breaking
// rule must be Requires care or Dangerous in our classification, or our finding must say
// why it is harmless (a table created in the same migration is empty: nothing to lock or lose).
// Run: node bench/squawk.mjs  (needs `pnpm build`); the test suite runs the same comparison.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SQUAWK = join(ROOT, 'node_modules', '.bin', 'squawk');

/** squawk's rules that mean "this blocks traffic or breaks running code" (the list). */
export const BLOCKING_RULES = [
  'adding-required-field',
  'changing-column-type',
  'ban-drop-column',
  'ban-drop-table',
  'require-concurrent-index-creation',
  'adding-foreign-key-constraint',
  'renaming-column',
  'renaming-table',
  'disallowed-unique-constraint',
  'constraint-missing-not-valid',
  'adding-not-nullable-field',
  'ban-truncate-cascade',
  'adding-field-with-default',
];

const LEVEL_ORDER = { safe: 0, care: 1, dangerous: 2 };

/** Byte offset of squawk's 0-based (line, column) in the file (columns count characters). */
function offsetOf(text, line, column) {
  const lines = text.split('\n');
  const prefix = lines.slice(0, line).join('\n') + (line > 0 ? '\n' : '') + lines[line].slice(0, column);
  return Buffer.byteLength(prefix, 'utf8');
}

/** Runs squawk over files (one process per batch) and returns its violations. */
function squawkViolations(files) {
  const violations = [];
  for (let i = 0; i < files.length; i += 100) {
    let out;
    try {
      // --pg-version: the server this product targets (PostgreSQL 15), so version-dependent rules judge the same server.
      out = execFileSync(SQUAWK, ['--reporter', 'json', '--pg-version', '15.0', ...files.slice(i, i + 100)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      out = error.stdout; // squawk exits non-zero when it finds something
    }
    violations.push(...JSON.parse(out));
  }
  return violations;
}

/**
 * Compares squawk and digilog-db on every migration of the workloads.
 * Returns per-workload rows and every disagreement with its explanation (or none).
 */
export async function compareWithSquawk(workloadsDir = resolve(ROOT, '../shared/workloads')) {
  const { classify } = await import(join(ROOT, 'packages/cli/dist/plan/classify.js'));
  const { loadParser } = await import(join(ROOT, 'packages/cli/dist/plan/execution-mode.js'));
  const { toMigration } = await import(join(ROOT, 'packages/cli/dist/read/migrations-folder.js'));
  const parser = await loadParser();
  const rows = [];
  const disagreements = [];
  for (const workload of readdirSync(workloadsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const dir = join(workloadsDir, workload, 'migrations');
    const files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name, 'migration.sql')).sort();
    const started = performance.now();
    const squawk = squawkViolations(files).filter((v) => BLOCKING_RULES.includes(v.rule_name));
    const squawkMs = performance.now() - started;
    const bySql = new Map();
    let statements = 0;
    let oursFlagged = 0;
    let classifyMs = 0;
    for (const file of files) {
      const sql = readFileSync(file, 'utf8');
      const t0 = performance.now();
      const parsed = parser.parseSync(sql);
      const bytes = Buffer.from(sql, 'utf8');
      const ranges = (parsed.stmts ?? []).map((raw) => {
        const start = raw.stmt_location ?? 0;
        return { start, end: raw.stmt_len ? start + raw.stmt_len : bytes.length };
      });
      const stmtObjects = (parsed.stmts ?? []).map((raw, index) => {
        const [nodeType, node] = Object.entries(raw.stmt)[0];
        return { nodeType, node, text: bytes.subarray(ranges[index].start, ranges[index].end).toString('utf8').trim() };
      });
      const findings = classify(stmtObjects, toMigration('', file, sql).directives);
      classifyMs += performance.now() - t0;
      statements += stmtObjects.length;
      const worstByStatement = new Map();
      for (const f of findings) {
        const seen = worstByStatement.get(f.statement);
        if (!seen || LEVEL_ORDER[f.level] > LEVEL_ORDER[seen.level]) worstByStatement.set(f.statement, f);
      }
      oursFlagged += [...worstByStatement.values()].filter((f) => f.level !== 'safe').length;
      bySql.set(file, { sql, ranges, worstByStatement, stmtObjects });
    }
    let agreements = 0;
    for (const v of squawk) {
      const { sql, ranges, worstByStatement, stmtObjects } = bySql.get(v.file);
      const offset = offsetOf(sql, v.line, v.column);
      const index = ranges.findIndex((r) => offset >= r.start && offset <= r.end + 1);
      const ours = worstByStatement.get(index + 1);
      if (ours && ours.level !== 'safe') {
        agreements += 1;
        continue;
      }
      const statement = stmtObjects[index]?.text ?? '?';
      disagreements.push({ workload, file: v.file.slice(workloadsDir.length + 1), rule: v.rule_name, statement: statement.length > 140 ? `${statement.slice(0, 137)}...` : statement, ours: ours?.level ?? 'safe', why: explain(v, ours, stmtObjects, index) });
    }
    rows.push({ workload, files: files.length, statements, squawkFindings: squawk.length, oursFlagged, agreements, disagreements: squawk.length - agreements, classifyMs, squawkMs });
  }
  return { rows, disagreements };
}

/** Why our classifier calls a squawk-flagged statement safe, when it can tell; undefined = unexplained. */
function explain(violation, ours, statements, index) {
  const target = statements[index];
  const table = target?.node?.relation?.relname;
  const createdBefore = statements.slice(0, index).some((s) => s.nodeType === 'CreateStmt' && s.node.relation?.relname === table);
  if (createdBefore) return 'the table is created earlier in the same migration: empty, so nothing is locked for long or lost';
  if (ours?.rule === 'add-column-constant-default' && violation.rule_name === 'adding-field-with-default') return 'the default is a constant (squawk reads `-1`, a unary minus expression, as possibly volatile): metadata-only since PostgreSQL 11';
  return undefined;
}

/** The comparison as Markdown lines (table, then each kind of disagreement): printed, and written to docs/squawk.md. */
export function squawkLines({ rows, disagreements }) {
  const lines = [
    '| workload | files | statements | squawk findings | ours Requires care/Dangerous | agreements | disagreements | our classify time | squawk time |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.workload} | ${r.files} | ${r.statements} | ${r.squawkFindings} | ${r.oursFlagged} | ${r.agreements} | ${r.disagreements} | ${r.classifyMs.toFixed(0)} ms | ${r.squawkMs.toFixed(0)} ms |`);
  }
  const groups = new Map();
  for (const d of disagreements) {
    const key = `${d.rule} → ours ${d.ours}: ${d.why ?? 'UNEXPLAINED'}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  if (groups.size > 0) lines.push('');
  for (const [key, items] of groups) lines.push(`- ${items.length} × ${key} (e.g. ${items[0].file}: \`${items[0].statement.replace(/--[^\n]*\n/g, '').replace(/\s+/g, ' ')}\`)`);
  return lines;
}

export function printSquawkRows(result) {
  console.log('\n## Classifier vs squawk (blocking/breaking rules) over ../shared/workloads');
  for (const line of squawkLines(result)) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) printSquawkRows(await compareWithSquawk());
