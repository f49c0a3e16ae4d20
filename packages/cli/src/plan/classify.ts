/**
 * Classifies the statements of a migration as Safe / Requires care /
 * Dangerous from PostgreSQL's own parse tree (libpg-query), never from
 * regular expressions over SQL. Pure: parsed statements in, findings out.
 */
import { splitLikePrisma, type ParsedStatement } from './execution-mode.js';
import type { Directives } from '../read/directives.js';
import { RULES, type Level, type Rule, type RuleId } from './rules.js';

export interface Finding extends Rule {
  rule: RuleId;
  /** 1-based statement number in the file. */
  statement: number;
  sql: string;
  table: string | undefined;
  /** The index a CREATE INDEX or DROP INDEX names (its table, when known, is in `table`). */
  index?: string;
  /** The type a CREATE TYPE … AS ENUM or DROP TYPE names (unqualified). */
  type?: string;
  /** The column an ALTER TABLE … DROP COLUMN names (its table is in `table`). */
  column?: string;
  /** The file says `-- digilog:allow <rule>` (or the acknowledgements file or --allow does). */
  acknowledged: boolean;
  /** A DROP … IF EXISTS: the object's name as written (schema-qualified or not), to look it up. */
  ifExists?: DroppedObject;
  /** Set by the deploy plan: the IF EXISTS object neither exists nor is created earlier in the deploy. */
  absent?: boolean;
}

/** What a DROP … IF EXISTS names: a relation (table, index), a type, or a schema. */
export interface DroppedObject {
  kind: 'relation' | 'type' | 'schema';
  names: string[];
}

type Node = Record<string, unknown>;
const LEVEL_ORDER: Record<Level, number> = { safe: 0, care: 1, dangerous: 2 };
const VOLATILE = new Set(['random', 'gen_random_uuid', 'uuid_generate_v4', 'clock_timestamp', 'timeofday', 'nextval']);

const relname = (node: Node | undefined): string | undefined => (node?.relation as Node | undefined)?.relname as string | undefined;
const child = (node: unknown, key: string): Node | undefined => (node as Node | undefined)?.[key] as Node | undefined;

function constraintsOf(columnDef: Node): Node[] {
  return ((columnDef.constraints as Node[] | undefined) ?? []).map((c) => c.Constraint as Node);
}

function defaultIsVolatile(expr: unknown): boolean {
  const text = JSON.stringify(expr ?? null);
  return [...text.matchAll(/"funcname":\[\{"String":\{"sval":"([^"]+)"/g)].some((m) => VOLATILE.has(m[1]!.toLowerCase()));
}

/** Rules hit by one ALTER TABLE sub-command. */
function alterTableRules(cmd: Node, createdHere: boolean): RuleId[] {
  const subtype = cmd.subtype as string;
  switch (subtype) {
    case 'AT_AddColumn': {
      const constraints = constraintsOf(child(cmd.def, 'ColumnDef') ?? {});
      const notNull = constraints.some((c) => c.contype === 'CONSTR_NOTNULL' || c.contype === 'CONSTR_PRIMARY');
      const def = constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
      if (def && defaultIsVolatile(def.raw_expr)) return ['add-column-volatile-default'];
      if (notNull && !def && !createdHere) return ['add-required-column'];
      return [def ? 'add-column-constant-default' : 'add-nullable-column'];
    }
    case 'AT_DropColumn':
      return ['drop-column'];
    case 'AT_AlterColumnType':
      return ['change-column-type'];
    case 'AT_SetNotNull':
      return createdHere ? [] : ['set-not-null'];
    case 'AT_DropConstraint':
      return /_pkey$/.test(String(cmd.name)) ? ['drop-primary-key'] : [];
    case 'AT_AddConstraint': {
      const c = child(cmd.def, 'Constraint') ?? {};
      if (createdHere) return [];
      if (c.contype === 'CONSTR_FOREIGN') return c.skip_validation ? [] : ['add-foreign-key'];
      if (c.contype === 'CONSTR_CHECK') return c.skip_validation ? [] : ['add-check-constraint'];
      if (c.contype === 'CONSTR_UNIQUE') return c.indexname ? [] : ['add-unique-constraint'];
      if (c.contype === 'CONSTR_PRIMARY') return c.indexname ? [] : ['add-primary-key'];
      return [];
    }
    default:
      return [];
  }
}

/** The unqualified name a list of String nodes ends with (`s."Role"` → Role). */
const lastName = (names: unknown): string | undefined => (((names as Node[] | undefined) ?? []).at(-1)?.String as Node | undefined)?.sval as string | undefined;

/** Unqualified names of the objects of a DROP (`DROP TABLE a, s.b` → a, b). */
function droppedNames(node: Node): Array<string | undefined> {
  const objects = (node.objects as Node[] | undefined) ?? [];
  return objects.map((o) => lastName((o.List as Node | undefined)?.items));
}

const svals = (names: unknown): string[] => ((names as Node[] | undefined) ?? []).map((n) => String((n.String as Node | undefined)?.sval ?? ''));

/** The objects of a DROP … IF EXISTS, one per name, in order; none without IF EXISTS. */
function ifExistsObjects(node: Node): Array<DroppedObject | undefined> {
  const objects = (node.objects as Node[] | undefined) ?? [];
  if (node.missing_ok !== true) return objects.map(() => undefined);
  const type = node.removeType as string;
  return objects.map((o) => {
    if (type === 'OBJECT_TABLE' || type === 'OBJECT_INDEX') return { kind: 'relation', names: svals((o.List as Node | undefined)?.items) };
    if (type === 'OBJECT_TYPE') return { kind: 'type', names: svals((o.TypeName as Node | undefined)?.names) };
    if (type === 'OBJECT_SCHEMA') return { kind: 'schema', names: [String((o.String as Node | undefined)?.sval ?? '')] };
    return undefined;
  });
}

/**
 * Index name → table, for the indexes created (or renamed) by the statements classified so far.
 * DROP INDEX names only the index; this tells which table it locks.
 */
export type IndexTables = Map<string, string>;

/** Rules hit by one statement; `created` holds tables created earlier in the same file. */
function statementRules(statement: ParsedStatement, created: Set<string>, indexTables: IndexTables): Array<{ rule: RuleId; table?: string; index?: string; type?: string; column?: string; ifExists?: DroppedObject }> {
  const rules = rulesOf(statement, created, indexTables);
  if (statement.nodeType !== 'DropStmt') return rules;
  const objects = ifExistsObjects(statement.node);
  // One finding per dropped object; a DROP SCHEMA a, b gives one finding for both, so no object.
  return rules.map((r, i) => {
    const ifExists = objects.length === rules.length ? objects[i] : undefined;
    return ifExists ? { ...r, ifExists } : r;
  });
}

function rulesOf({ nodeType, node }: ParsedStatement, created: Set<string>, indexTables: IndexTables): Array<{ rule: RuleId; table?: string; index?: string; type?: string; column?: string }> {
  switch (nodeType) {
    case 'CreateStmt':
      created.add(relname(node) ?? '');
      return [{ rule: 'create-table', table: relname(node) }];
    case 'CreateEnumStmt':
      return [{ rule: 'create-enum', type: lastName(node.typeName) }];
    case 'AlterEnumStmt':
      return node.newVal ? [{ rule: 'add-enum-value' }] : [{ rule: 'other-ddl' }];
    case 'IndexStmt': {
      const table = relname(node);
      const index = node.idxname as string | undefined;
      if (index && table) indexTables.set(index, table);
      if (node.concurrent) return [{ rule: 'create-index-concurrently', table, index }];
      return [{ rule: created.has(table ?? '') ? 'create-index-new-table' : 'create-index', table, index }];
    }
    case 'AlterTableStmt': {
      const table = relname(node);
      const cmds = ((node.cmds as Node[] | undefined) ?? []).map((c) => c.AlterTableCmd as Node);
      // A dropped column is named, so the live-database context can count the values it loses.
      return cmds.flatMap((cmd) => alterTableRules(cmd, created.has(table ?? '')).map((rule) => (rule === 'drop-column' ? { rule, table, column: cmd.name as string } : { rule, table })));
    }
    case 'RenameStmt':
      if (node.renameType === 'OBJECT_COLUMN') return [{ rule: 'rename-column', table: relname(node) }];
      if (node.renameType === 'OBJECT_TABLE') return [{ rule: 'rename-table', table: relname(node) }];
      if (node.renameType === 'OBJECT_INDEX') {
        // ALTER INDEX a RENAME TO b: a later DROP INDEX b still locks a's table.
        const table = indexTables.get(relname(node) ?? '');
        if (table !== undefined) indexTables.set(node.newname as string, table);
      }
      return [{ rule: 'other-ddl' }];
    case 'DropStmt': {
      const type = node.removeType as string;
      if (type === 'OBJECT_TABLE') return droppedNames(node).map((table) => ({ rule: 'drop-table', table }));
      if (type === 'OBJECT_SCHEMA') return [{ rule: 'drop-schema' }];
      if (type === 'OBJECT_INDEX') {
        if (node.concurrent) return [{ rule: 'other-ddl' }];
        return droppedNames(node).map((index) => ({ rule: 'drop-index', table: indexTables.get(index ?? ''), index }));
      }
      if (type === 'OBJECT_TYPE') {
        // CASCADE also drops the columns using the type, wherever they are: no type name, so no relaxing.
        const cascade = node.behavior === 'DROP_CASCADE';
        return ((node.objects as Node[] | undefined) ?? []).map((o) => ({ rule: 'drop-type', type: cascade ? undefined : lastName((o.TypeName as Node | undefined)?.names) }));
      }
      return [{ rule: 'other-ddl' }];
    }
    case 'TruncateStmt':
      return ((node.relations as Node[] | undefined) ?? []).map((r) => ({ rule: 'truncate', table: (r.RangeVar as Node | undefined)?.relname as string | undefined }));
    case 'DeleteStmt':
      return [{ rule: node.whereClause ? 'backfill' : 'delete-without-where', table: relname(node) }];
    case 'UpdateStmt':
      return [{ rule: node.whereClause ? 'backfill' : 'update-without-where', table: relname(node) }];
    case 'InsertStmt':
      return created.has(relname(node) ?? '') ? [] : [{ rule: 'backfill', table: relname(node) }];
    case 'DoStmt':
      return [{ rule: 'procedural-code' }];
    case 'CreateTrigStmt':
      return [{ rule: 'create-trigger', table: relname(node) }];
    default:
      return [{ rule: 'other-ddl' }];
  }
}


/** A file without `-- digilog:` comments. */
const NO_DIRECTIVES = { allow: new Set<string>(), noTransaction: false };

/**
 * Findings for one migration's parsed statements (safe ones included, so a report can say "all safe").
 * `indexTables` carries the indexes created so far; a caller classifying a whole deploy in order
 * passes one map to every file, so a DROP INDEX finds the table of an index an earlier file created.
 */
export function classify(statements: ParsedStatement[], directives: Pick<Directives, 'allow' | 'noTransaction'> = NO_DIRECTIVES, indexTables: IndexTables = new Map()): Finding[] {
  const created = new Set<string>();
  const acknowledged = directives.allow;
  // A file split like Prisma 7.4+ splits it is not atomic: said once, on its first CREATE INDEX CONCURRENTLY
  // (with `-- digilog:no-transaction` the author chose that, so nothing is said).
  const nonAtomicAt = splitLikePrisma(statements) && !directives.noTransaction ? statements.findIndex((s) => s.nodeType === 'IndexStmt' && s.node.concurrent === true) : -1;
  return statements.flatMap((statement, number) =>
    [...statementRules(statement, created, indexTables), ...(number === nonAtomicAt ? [{ rule: 'non-atomic-file' as const }] : [])].map(({ rule, table, index, type, column, ifExists }: { rule: RuleId; table?: string; index?: string; type?: string; column?: string; ifExists?: DroppedObject }) => ({
      ...(RULES[rule] as Rule),
      rule,
      statement: number + 1,
      sql: statement.text.length > 200 ? `${statement.text.slice(0, 197)}...` : statement.text,
      table,
      ...(index === undefined ? {} : { index }),
      ...(type === undefined ? {} : { type }),
      ...(column === undefined ? {} : { column }),
      ...(ifExists === undefined ? {} : { ifExists }),
      acknowledged: acknowledged.has(rule),
    })),
  );
}

/** The worst level among findings (safe when there are none). */
export function worstLevel(findings: Finding[]): Level {
  return findings.reduce<Level>((worst, f) => (LEVEL_ORDER[f.level] > LEVEL_ORDER[worst] ? f.level : worst), 'safe');
}
