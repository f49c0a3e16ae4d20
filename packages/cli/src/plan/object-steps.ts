/**
 * A rollback's steps for what Prisma's schema engine does not manage, from the catalog of the
 * database now and of the shadow database at the target (db/schema-objects.ts):
 *  - functions, triggers, standalone sequences, views, extensions and CHECK constraints that the
 *    undone migrations create, replace or drop (triggers and checks also when they create, drop
 *    or rename their table) are dropped, re-created or replaced. Only those: an object made by
 *    hand in the live database, which no undone migration names, is left alone. Creates and
 *    replacements of extensions, sequences and functions run before the engine's SQL (its
 *    defaults may call them), views, triggers and checks after it (on its tables); drops the
 *    other way round;
 *  - indexes the undone migrations create, rename or drop that the engine's SQL leaves alone
 *    (a partial or expression index it did not describe) are dropped or re-created likewise;
 *  - an index that backs a constraint (UNIQUE … DEFERRABLE, say) is dropped and re-created as
 *    the constraint: the engine emits DROP INDEX, which PostgreSQL refuses for such an index.
 * Pure: catalogs and parsed statements in, SQL out.
 */
import type { ConstraintIndex, ObjectKind, SchemaObject } from '../db/schema-objects.js';
import type { ParsedStatement } from './execution-mode.js';

type Node = Record<string, unknown>;
const svals = (items: unknown): string[] => ((items as Node[] | undefined) ?? []).map((n) => String((n.String as Node | undefined)?.sval ?? ''));
const relname = (node: unknown): string | undefined => (node as Node | undefined)?.relname as string | undefined;

const DROP_KINDS: Record<string, ObjectKind> = {
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'function',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_VIEW: 'view',
  OBJECT_EXTENSION: 'extension',
};

/**
 * Bare names, by kind, of the objects outside the engine's model that some statements create,
 * replace, alter or drop; and, as 'table', the tables they create, drop or rename (whose triggers
 * and CHECK constraints the engine's re-creation of the table would not bring back). Pure.
 */
export function mentionedObjects(statements: readonly ParsedStatement[]): Map<ObjectKind | 'table', Set<string>> {
  const mentioned = new Map<ObjectKind | 'table', Set<string>>();
  const add = (kind: ObjectKind | 'table', name: string | undefined) => {
    if (name) mentioned.set(kind, (mentioned.get(kind) ?? new Set()).add(name));
  };
  for (const { nodeType, node } of statements) {
    if (nodeType === 'CreateFunctionStmt') add('function', svals(node.funcname).at(-1));
    else if (nodeType === 'CreateTrigStmt') add('trigger', node.trigname as string);
    else if (nodeType === 'CreateSeqStmt' || nodeType === 'AlterSeqStmt') add('sequence', relname(node.sequence));
    else if (nodeType === 'ViewStmt') add('view', relname(node.view));
    else if (nodeType === 'CreateExtensionStmt') add('extension', node.extname as string);
    else if (nodeType === 'CreateStmt') add('table', relname(node.relation));
    else if (nodeType === 'IndexStmt') add('index', node.idxname as string);
    else if (nodeType === 'RenameStmt' && node.renameType === 'OBJECT_INDEX') (add('index', relname(node.relation)), add('index', node.newname as string));
    else if (nodeType === 'DropStmt' && node.removeType === 'OBJECT_INDEX') {
      for (const object of (node.objects as Node[] | undefined) ?? []) add('index', svals((object.List as Node | undefined)?.items).at(-1));
    }
    else if (nodeType === 'RenameStmt' && node.renameType === 'OBJECT_TABLE') (add('table', relname(node.relation)), add('table', node.newname as string));
    else if (nodeType === 'AlterTableStmt') {
      for (const { AlterTableCmd: cmd } of (node.cmds as Array<{ AlterTableCmd: Node }> | undefined) ?? []) {
        const constraint = (cmd.def as Node | undefined)?.Constraint as Node | undefined;
        if (cmd.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_CHECK') add('check', constraint.conname as string);
        if (cmd.subtype === 'AT_DropConstraint' || cmd.subtype === 'AT_ValidateConstraint') add('check', cmd.name as string);
      }
    } else if (nodeType === 'DropStmt' && node.removeType === 'OBJECT_TABLE') {
      for (const object of (node.objects as Node[] | undefined) ?? []) add('table', svals((object.List as Node | undefined)?.items).at(-1));
    }
    else if (nodeType === 'DropStmt' && DROP_KINDS[String(node.removeType)]) {
      const kind = DROP_KINDS[String(node.removeType)]!;
      for (const object of (node.objects as Node[] | undefined) ?? []) {
        const withArgs = object.ObjectWithArgs as Node | undefined;
        add(kind, withArgs ? svals(withArgs.objname).at(-1) : object.List ? svals((object.List as Node).items).at(-1) : String((object.String as Node | undefined)?.sval ?? ''));
      }
    }
  }
  return mentioned;
}

/**
 * What to run before and after the engine's SQL so that the mentioned objects are as at the
 * target. `handledIndexes`: the indexes the engine's SQL itself creates or drops (left to it). Pure.
 */
export function objectSteps(
  now: ReadonlyMap<string, SchemaObject>,
  target: ReadonlyMap<string, SchemaObject>,
  mentioned: ReadonlyMap<ObjectKind | 'table', ReadonlySet<string>>,
  handledIndexes: ReadonlySet<string> = new Set(),
): { before: string[]; after: string[] } {
  const touched = (o: SchemaObject) =>
    !(o.kind === 'index' && handledIndexes.has(o.name)) && (mentioned.get(o.kind)?.has(o.name) === true || (o.table !== undefined && mentioned.get('table')?.has(o.table) === true));
  const before: string[] = [];
  const after: string[] = [];
  // Drops: triggers and views before the engine's SQL (it may drop their tables' columns), the rest after (its defaults and indexes may use them).
  const drops = [...now.entries()].filter(([key, o]) => touched(o) && !target.has(key)).map(([, o]) => o);
  for (const kind of ['trigger', 'view', 'check', 'index'] as const) before.push(...drops.filter((o) => o.kind === kind).map((o) => o.drop));
  const creates = [...target.entries()].filter(([key, o]) => touched(o) && now.get(key)?.create !== o.create).map(([, o]) => o);
  // Sequences have no CREATE OR REPLACE: one that exists with other settings is left as it is.
  const wanted = creates.filter((o) => !(o.kind === 'sequence' && now.has(`sequence:${o.key}`)));
  for (const kind of ['extension', 'sequence', 'function'] as const) before.push(...wanted.filter((o) => o.kind === kind).map((o) => o.create));
  // A CHECK constraint or an index that exists with another definition is dropped first (no CREATE OR REPLACE).
  before.push(...wanted.filter((o) => (o.kind === 'check' || o.kind === 'index') && now.has(`${o.kind}:${o.key}`)).map((o) => now.get(`${o.kind}:${o.key}`)!.drop));
  for (const kind of ['view', 'trigger', 'check', 'index'] as const) after.push(...wanted.filter((o) => o.kind === kind).map((o) => o.create));
  for (const kind of ['function', 'sequence', 'extension'] as const) after.push(...drops.filter((o) => o.kind === kind).map((o) => o.drop));
  return { before, after };
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** Whitespace and comments before a statement's first keyword. */
const LEAD = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

/**
 * The script with DROP INDEX of an index that backs a constraint now made ALTER TABLE … DROP
 * CONSTRAINT, and CREATE UNIQUE INDEX of one that backs a constraint at the target made ALTER
 * TABLE … ADD CONSTRAINT (the rest byte for byte). `statements` is the parse of `sql`. Pure.
 */
export function constraintSteps(sql: string, statements: readonly ParsedStatement[], now: ReadonlyMap<string, ConstraintIndex>, target: ReadonlyMap<string, ConstraintIndex>): string {
  const bytes = Buffer.from(sql, 'utf8');
  const pieces: Buffer[] = [];
  let at = 0;
  statements.forEach(({ nodeType, node, offset, text }) => {
    let replacement: string | undefined;
    if (nodeType === 'DropStmt' && node.removeType === 'OBJECT_INDEX') {
      const names = ((node.objects as Node[] | undefined) ?? []).map((o) => svals((o.List as Node | undefined)?.items).at(-1)!);
      const backed = names.map((name) => now.get(name));
      if (names.length === 1 && backed[0]) replacement = `ALTER TABLE ${backed[0].table} DROP CONSTRAINT ${quote(backed[0].name)}`;
    } else if (nodeType === 'IndexStmt' && node.unique === true && target.has(String(node.idxname))) {
      const constraint = target.get(String(node.idxname))!;
      replacement = `ALTER TABLE ${constraint.table} ADD CONSTRAINT ${quote(constraint.name)} ${constraint.definition}`;
    }
    if (replacement === undefined) return;
    // The statement's range starts with its leading comments; those stay.
    const start = offset + Buffer.byteLength(LEAD.exec(bytes.subarray(offset).toString('utf8'))![0]);
    pieces.push(bytes.subarray(at, start), Buffer.from(replacement));
    at = start + Buffer.byteLength(text.slice(LEAD.exec(text)![0].length));
  });
  pieces.push(bytes.subarray(at));
  return Buffer.concat(pieces).toString('utf8');
}
