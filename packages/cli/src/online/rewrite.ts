/**
 * `migrate --online`: the lock-friendly equivalent of each statement, derived
 * from PostgreSQL's parse tree when the migration runs (the file and its
 * checksum stay exactly as Prisma wrote them). Pure apart from loading the
 * deparser: parsed statements in, the units the runner sends out.
 *
 *   CREATE [UNIQUE] INDEX            → … CONCURRENTLY (an INVALID leftover is dropped first)
 *   ADD CONSTRAINT … UNIQUE          → unique index built concurrently, then ADD CONSTRAINT … USING INDEX
 *   ADD CONSTRAINT … FOREIGN KEY     → … NOT VALID, then VALIDATE CONSTRAINT in its own transaction
 *   ADD CONSTRAINT … CHECK           → … NOT VALID, then VALIDATE CONSTRAINT
 *   ALTER COLUMN … SET NOT NULL      → CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL (no scan), drop the check
 *   UPDATE                           → keyset batches over the primary key, each its own transaction
 *
 * Statements on a table the same file creates stay as written (it is empty and new).
 */
import { createHash } from 'node:crypto';
import type { ExecutionMode, ParsedStatement } from '../plan/execution-mode.js';
import { loadDeparser, quoteIdent, type Deparse } from './deparse.js';
import { lockNeedsOf, strongestMode, type LockMode } from '../plan/locks.js';

/** A relation as written: schema (or the migration's), name. */
export interface Relation {
  schema: string | undefined;
  name: string;
}

export type RewriteRule = 'index-concurrently' | 'unique-using-index' | 'not-valid-then-validate' | 'not-null-via-check' | 'batched-update';

/** One statement the runner sends, with the lock it takes. */
export interface Piece {
  sql: string;
  lock: LockMode;
  /** The relation it locks (the statement's table). */
  table: string | undefined;
  /** The 1-based statement of the file it comes from (set once placed in a unit). */
  statement?: number;
}

/** The unique index a `concurrently` unit builds; found INVALID (an earlier try), it is dropped and built again. */
export interface ConcurrentIndex {
  /** The index's schema: its table's, as written (undefined: the migration's). */
  schema: string | undefined;
  index: string;
}

/** A keyset-batched UPDATE: the parts the runner assembles once it knows the table's primary key. */
export interface Backfill {
  relation: Relation;
  /** How the statement names its table (its alias, else the table name), for column references. */
  alias: string;
  /** `UPDATE t [AS a] SET …` without WHERE. */
  head: string;
  /** The WHERE condition, or undefined. */
  condition: string | undefined;
}

/**
 * One piece of work with its own commit: `transaction` (pieces and the progress record commit
 * together), `concurrently` (one statement that cannot run in a transaction block), `batches`.
 */
export interface OnlineUnit {
  kind: 'transaction' | 'concurrently' | 'batches';
  pieces: Piece[];
  /** The 1-based statements of the file it comes from. */
  from: number[];
  index?: ConcurrentIndex;
  backfill?: Backfill;
}

/** What happens to one statement of the file. */
export interface StatementRewrite {
  statement: number;
  original: string;
  /** Undefined: runs as written. */
  rule: RewriteRule | undefined;
  runs: Piece[];
  /** Why it is not rewritten, when that is worth saying. */
  note?: string;
}

/** The online form of one migration. */
export interface OnlinePlan {
  /** Whether anything is rewritten (when not, the migration runs as usual, with lock retries). */
  rewritten: boolean;
  statements: StatementRewrite[];
  units: OnlineUnit[];
  /** More than one commit: a crash can stop it half-way (progress is recorded, `migrate --online` completes it). */
  atomic: boolean;
  /** Why the file is not rewritten at all, when it is not. */
  reason?: string;
}

type Node = Record<string, unknown>;
const relationOf = (node: unknown): Relation | undefined => {
  const r = node as Node | undefined;
  return r?.relname ? { schema: r.schemaname as string | undefined, name: r.relname as string } : undefined;
};
/** `"s"."t"` or `"t"`. */
export const relationSql = (r: Relation): string => (r.schema ? `${quoteIdent(r.schema)}.${quoteIdent(r.name)}` : quoteIdent(r.name));

/** The name of the temporary CHECK that stands for SET NOT NULL (deterministic, so a rerun finds it). */
export function notNullCheckName(relation: Relation, column: string): string {
  return `digilog_not_null_${createHash('sha256').update(`${relation.schema ?? ''}.${relation.name}.${column}`).digest('hex').slice(0, 16)}`;
}

const piece = (sql: string, lock: LockMode, relation: Relation | undefined): Piece => ({ sql, lock, table: relation?.name });

/** The pieces of one rewritten ALTER TABLE sub-command, or undefined when it stays as written. */
function rewriteCommand(cmd: Node, relation: Relation, alterSql: (cmds: Node[]) => string): { rule: RewriteRule; runs: Array<Piece & { concurrently?: ConcurrentIndex; own?: boolean }> } | undefined {
  const table = relationSql(relation);
  if (cmd.subtype === 'AT_SetNotNull' && typeof cmd.name === 'string') {
    const check = quoteIdent(notNullCheckName(relation, cmd.name));
    const column = quoteIdent(cmd.name);
    return {
      rule: 'not-null-via-check',
      runs: [
        piece(`ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID`, 'AccessExclusiveLock', relation),
        { ...piece(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}`, 'ShareUpdateExclusiveLock', relation), own: true },
        // PostgreSQL 12+ sees the validated CHECK and skips the scan; the check then goes.
        piece(`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`, 'AccessExclusiveLock', relation),
        piece(`ALTER TABLE ${table} DROP CONSTRAINT ${check}`, 'AccessExclusiveLock', relation),
      ],
    };
  }
  if (cmd.subtype !== 'AT_AddConstraint') return undefined;
  const constraint = (cmd.def as Node | undefined)?.Constraint as Node | undefined;
  const name = constraint?.conname as string | undefined;
  if (!constraint || !name) return undefined;
  if ((constraint.contype === 'CONSTR_FOREIGN' || constraint.contype === 'CONSTR_CHECK') && !constraint.skip_validation) {
    const notValid = structuredClone(cmd);
    const c = (notValid.def as Node).Constraint as Node;
    c.skip_validation = true;
    c.initially_valid = false;
    const lock: LockMode = constraint.contype === 'CONSTR_FOREIGN' ? 'ShareRowExclusiveLock' : 'AccessExclusiveLock';
    return {
      rule: 'not-valid-then-validate',
      runs: [piece(alterSql([notValid]), lock, relation), { ...piece(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(name)}`, 'ShareUpdateExclusiveLock', relation), own: true }],
    };
  }
  const plainUnique =
    constraint.contype === 'CONSTR_UNIQUE' && !constraint.indexname && !constraint.including && !constraint.options && !constraint.deferrable && !constraint.initdeferred && !constraint.indexspace;
  if (plainUnique) {
    const keys = ((constraint.keys as Node[] | undefined) ?? []).map((k) => quoteIdent(String((k.String as Node).sval)));
    const nulls = constraint.nulls_not_distinct ? ' NULLS NOT DISTINCT' : '';
    return {
      rule: 'unique-using-index',
      runs: [
        { ...piece(`CREATE UNIQUE INDEX CONCURRENTLY ${quoteIdent(name)} ON ${table} (${keys.join(', ')})${nulls}`, 'ShareUpdateExclusiveLock', relation), concurrently: { schema: relation.schema, index: name } },
        piece(`ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(name)} UNIQUE USING INDEX ${quoteIdent(name)}`, 'AccessExclusiveLock', relation),
      ],
    };
  }
  return undefined;
}

/** Rewrites one migration's statements. `mode` is how it would run without --online. */
export async function rewriteOnline(statements: ParsedStatement[], mode: ExecutionMode): Promise<OnlinePlan> {
  if (mode === 'as-written') {
    const asWritten = statements.map((s, i) => ({ statement: i + 1, original: s.text, rule: undefined, runs: [piece(s.text, strongestMode(lockNeedsOf(s)), undefined)] }));
    return { rewritten: false, statements: asWritten, units: [], atomic: true, reason: 'the file manages its own transactions (or runs a statement outside any): it runs as written' };
  }
  const deparse = await loadDeparser();
  const created = new Set<string>();
  const rewrites: StatementRewrite[] = [];
  const units: OnlineUnit[] = [];
  const plainUnit = (from: number): OnlineUnit => {
    const last = units.at(-1);
    // A transactional file keeps consecutive plain statements in one transaction; a split file runs each alone.
    if (last?.kind === 'transaction' && mode === 'transactional' && !(last as { sealed?: boolean }).sealed) {
      if (!last.from.includes(from)) last.from.push(from);
      return last;
    }
    const unit: OnlineUnit = { kind: 'transaction', pieces: [], from: [from] };
    units.push(unit);
    return unit;
  };
  const seal = (unit: OnlineUnit) => Object.defineProperty(unit, 'sealed', { value: true, enumerable: false });

  for (const [i, statement] of statements.entries()) {
    const number = i + 1;
    const rewrite = rewriteStatement(statement, created, deparse);
    rewrites.push({ statement: number, original: statement.text, ...rewrite, runs: rewrite.runs.map(stripMeta) });
    if (statement.nodeType === 'CreateStmt') created.add((statement.node.relation as Node).relname as string);
    for (const run of rewrite.runs as Array<Piece & { concurrently?: ConcurrentIndex; own?: boolean; backfill?: Backfill }>) {
      if (run.concurrently || (statement.nodeType === 'IndexStmt' && statement.node.concurrent === true && !rewrite.rule)) {
        const index = run.concurrently ?? indexOf(statement);
        units.push({ kind: 'concurrently', pieces: [placed(run, number)], from: [number], ...(index ? { index } : {}) });
      } else if (run.backfill) {
        units.push({ kind: 'batches', pieces: [placed(run, number)], from: [number], backfill: run.backfill });
      } else if (run.own) {
        const unit: OnlineUnit = { kind: 'transaction', pieces: [placed(run, number)], from: [number] };
        units.push(seal(unit));
      } else {
        plainUnit(number).pieces.push(placed(run, number));
      }
    }
  }
  const rewritten = rewrites.some((r) => r.rule !== undefined);
  return { rewritten, statements: rewrites, units: rewritten ? units : [], atomic: !rewritten ? mode === 'transactional' : units.length <= 1 };
}

const stripMeta = ({ sql, lock, table }: Piece): Piece => ({ sql, lock, table });
const placed = (run: Piece, statement: number): Piece => ({ ...stripMeta(run), statement });

function indexOf(statement: ParsedStatement): ConcurrentIndex | undefined {
  const relation = relationOf(statement.node.relation);
  const index = statement.node.idxname as string | undefined;
  return relation && index ? { schema: relation.schema, index } : undefined;
}

function rewriteStatement(statement: ParsedStatement, created: Set<string>, deparse: Deparse): Pick<StatementRewrite, 'rule' | 'runs' | 'note'> {
  const { nodeType, node } = statement;
  const asWritten = (note?: string) => ({ rule: undefined, runs: [piece(statement.text, strongestMode(lockNeedsOf(statement)), relationOf(node.relation))], ...(note ? { note } : {}) });
  const relation = relationOf(node.relation);
  if (!relation) return asWritten();
  if (created.has(relation.name)) return asWritten(`"${relation.name}" is created earlier in this file: empty, no need`);
  if (nodeType === 'IndexStmt' && !node.concurrent) {
    if (!node.idxname) return asWritten('an index without a name cannot be checked for an INVALID leftover');
    const concurrent = deparse({ IndexStmt: { ...node, concurrent: true } });
    return { rule: 'index-concurrently', runs: [{ ...piece(concurrent, 'ShareUpdateExclusiveLock', relation), concurrently: { schema: relation.schema, index: node.idxname as string } } as Piece] };
  }
  if (nodeType === 'UpdateStmt') {
    if (node.fromClause || node.returningList || node.withClause) return asWritten('an UPDATE with FROM, RETURNING or WITH is not batched');
    const alias = ((node.relation as Node).alias as Node | undefined)?.aliasname as string | undefined;
    const head = deparse({ UpdateStmt: { ...node, whereClause: undefined } });
    const condition = node.whereClause ? deparse({ SelectStmt: { whereClause: node.whereClause, limitOption: 'LIMIT_OPTION_DEFAULT', op: 'SETOP_NONE' } }).replace(/^SELECT\s+WHERE\s+/i, '') : undefined;
    const backfill: Backfill = { relation, alias: alias ?? relation.name, head, condition };
    return { rule: 'batched-update', runs: [{ ...piece(statement.text, 'RowExclusiveLock', relation), backfill } as Piece] };
  }
  if (nodeType !== 'AlterTableStmt' || node.objtype !== 'OBJECT_TABLE') return asWritten();
  const cmds = ((node.cmds as Node[] | undefined) ?? []).map((c) => c.AlterTableCmd as Node);
  const alterSql = (subset: Node[]) => deparse({ AlterTableStmt: { ...node, cmds: subset.map((c) => ({ AlterTableCmd: c })) } });
  const runs: Piece[] = [];
  let pending: Node[] = [];
  let rule: RewriteRule | undefined;
  const flush = () => {
    if (pending.length === 0) return;
    runs.push(piece(cmds.length === pending.length ? statement.text : alterSql(pending), strongestMode(lockNeedsOf({ ...statement, node: { ...node, cmds: pending.map((c) => ({ AlterTableCmd: c })) } })), relation));
    pending = [];
  };
  for (const cmd of cmds) {
    const rewritten = rewriteCommand(cmd, relation, alterSql);
    if (!rewritten) {
      pending.push(cmd);
      continue;
    }
    flush();
    rule ??= rewritten.rule;
    runs.push(...rewritten.runs);
  }
  flush();
  return rule ? { rule, runs } : asWritten();
}
