/**
 * Live-database context for the classifier, which no peer linter has: the
 * same statement is harmless on a table created a moment ago or holding ten
 * rows, and an outage on a table of ten million. Pure: findings and table
 * facts in, adjusted findings out (each change says why).
 */
import type { Finding } from './classify.js';
import type { Level, RuleId } from './rules.js';
import type { TableFacts } from '../db/table-stats.js';

export type { TableFacts };


export interface ContextInput {
  /** Facts by table name (tables the database could not tell about are absent). */
  tables: ReadonlyMap<string, TableFacts>;
  /** Tables created earlier in the pending migrations of this run (still empty when the statement runs). */
  createdEarlier: ReadonlySet<string>;
  /** Enum types created earlier in the pending migrations of this run (no running code uses them yet). */
  typesCreatedEarlier?: ReadonlySet<string>;
  /** Estimated rows from which a table is big. */
  largeTableRows: number;
}

/** A finding after context: the rule's own level is kept in ruleLevel. */
export interface ContextFinding extends Finding {
  ruleLevel: Level;
  estimatedRows?: number;
  /** Why the level differs from the rule's level (or what the database said). */
  context?: string;
  /** DROP COLUMN: how many non-null values the column holds right now (a lower bound unless droppedValuesExact). */
  droppedValues?: number;
  droppedValuesExact?: boolean;
}

/** Rules whose lock is held for a time proportional to the table's size (scan, rewrite or index build). */
const SIZE_BOUND: ReadonlySet<RuleId> = new Set<RuleId>([
  'create-index',
  'add-foreign-key',
  'add-check-constraint',
  'add-unique-constraint',
  'add-primary-key',
  'set-not-null',
  'change-column-type',
  'add-column-volatile-default',
  'backfill',
]);
/** Rules that are only harmful when the table holds rows (data lost, or a statement that fails on rows). */
const HARMLESS_WHEN_EMPTY: Partial<Record<RuleId, Level>> = {
  truncate: 'safe',
  'delete-without-where': 'safe',
  'update-without-where': 'safe',
  'add-required-column': 'safe',
  'drop-table': 'care', // no data lost, but code still using the table breaks
  'drop-primary-key': 'care', // no row loses its identity, but foreign keys and code may rely on it
  'drop-index': 'safe', // no query on an empty table slows down, and the exclusive lock is brief
};

const ESCALATE: Record<Level, Level> = { safe: 'care', care: 'dangerous', dangerous: 'dangerous' };

/** Table → the columns its DROP COLUMN findings name: what readTableFacts counts values of. Pure. */
export function droppedColumns(findings: readonly Finding[]): Map<string, string[]> {
  const columns = new Map<string, string[]>();
  for (const f of findings) if (f.rule === 'drop-column' && f.table !== undefined && f.column !== undefined) columns.set(f.table, [...new Set([...(columns.get(f.table) ?? []), f.column])]);
  return columns;
}

/** Adjusts each finding's level to the target database. */
export function applyContext(findings: Finding[], input: ContextInput): ContextFinding[] {
  return findings.map((finding) => {
    const base: ContextFinding = { ...finding, ruleLevel: finding.level };
    if (finding.absent && finding.ifExists) {
      // PostgreSQL only notes "does not exist, skipping": nothing is dropped, locked or broken.
      return { ...base, level: 'safe', context: `${finding.ifExists.names.join('.')} does not exist and nothing earlier in this deploy creates it: IF EXISTS skips it` };
    }
    if (finding.rule === 'drop-type' && finding.type !== undefined) {
      const type = finding.type;
      const typeCreatedInFile = findings.some((f) => f.rule === 'create-enum' && f.type === type && f.statement < finding.statement);
      if (!typeCreatedInFile && !input.typesCreatedEarlier?.has(type)) return base;
      // Created by this same deploy: no running code reads or writes it yet, and PostgreSQL refuses
      // the drop (without CASCADE) while a column still uses it.
      return { ...base, level: 'safe', context: `type "${type}" is created ${typeCreatedInFile ? 'earlier in this migration' : 'by an earlier pending migration'}: nothing running uses it yet` };
    }
    const table = finding.table;
    if (table === undefined || finding.level === 'safe') return base;
    const createdInFile = findings.some((f) => f.rule === 'create-table' && f.table === table && f.statement < finding.statement);
    if (createdInFile || input.createdEarlier.has(table)) {
      // Created by this same deploy: it holds no row yet and no running code depends on its old
      // shape, so nothing can be lost, broken or locked for long (this is what lets a whole
      // history be deployed to a new production database through the guard).
      return { ...base, level: 'safe', context: `"${table}" is created ${createdInFile ? 'earlier in this migration' : 'by an earlier pending migration'}: still empty here` };
    }
    const facts = input.tables.get(table);
    if (!facts?.exists) return base;
    const rows = facts.estimatedRows ?? undefined;
    const withRows = rows === undefined ? base : { ...base, estimatedRows: rows };
    const values = finding.rule === 'drop-column' && finding.column !== undefined ? facts.columnValues?.get(finding.column) : undefined;
    if (values) return dropColumnWithValues(withRows, table, finding.column!, values);
    if (facts.empty === true && finding.rule in HARMLESS_WHEN_EMPTY) {
      return { ...withRows, level: HARMLESS_WHEN_EMPTY[finding.rule]!, context: `"${table}" is empty right now` };
    }
    if (!SIZE_BOUND.has(finding.rule) || rows === undefined) return withRows;
    if (rows >= input.largeTableRows) {
      return { ...withRows, level: ESCALATE[finding.level], context: `"${table}" has ~${formatRows(rows)} rows (≥ ${formatRows(input.largeTableRows)}): ${finding.lock} held for the whole operation` };
    }
    return { ...withRows, level: 'safe', context: `"${table}" has ~${formatRows(rows)} rows (< ${formatRows(input.largeTableRows)}): the lock is brief` };
  });
}

/**
 * A column that holds values loses them for good (a rollback generated from the schema drops
 * every column the undone migrations added): Dangerous, with the count. One whose values are
 * all NULL keeps the rule's level: nothing is lost, but code still reading it breaks.
 */
function dropColumnWithValues(finding: ContextFinding, table: string, column: string, { nonNull, exact }: { nonNull: number; exact: boolean }): ContextFinding {
  const where = `"${table}"."${column}"`;
  if (nonNull === 0) return { ...finding, droppedValues: 0, droppedValuesExact: exact, context: `${where} holds no value (every row is NULL there)` };
  const count = `${exact ? '' : 'at least '}${nonNull} non-null value${nonNull === 1 ? '' : 's'}`;
  return {
    ...finding,
    level: 'dangerous',
    message: `drops column ${where}, which holds ${count}: they are lost, and code still reading it breaks`,
    droppedValues: nonNull,
    droppedValuesExact: exact,
    context: `${where} holds ${count} right now`,
  };
}

/** 1234567 → "1.2M", 15300 → "15.3k". */
export function formatRows(rows: number): string {
  if (rows >= 1_000_000) return `${(rows / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
  if (rows >= 1_000) return `${(rows / 1_000).toFixed(1).replace(/\.0$/, '')}k`;
  return String(Math.round(rows));
}
