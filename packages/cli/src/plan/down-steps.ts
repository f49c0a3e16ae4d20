/**
 * What a rollback's down SQL needs on top of the schema engine's diff, read from the undone
 * migrations with PostgreSQL's parser:
 *  - indexes that an undone migration built or dropped CONCURRENTLY (a migration that runs
 *    outside a transaction so that writes go on) are re-created CONCURRENTLY too, which
 *    PostgreSQL only runs outside a transaction block: the file is then applied statement by
 *    statement, by digilog-db and by Prisma 7.4+ alike (splitLikePrisma). Their drops stay plain
 *    DROP INDEX: PostgreSQL runs that in a transaction, its exclusive lock is brief (no scan), and
 *    DROP INDEX CONCURRENTLY among other statements fails under `prisma migrate deploy` (25001);
 *  - enum values the down SQL adds back go in the target's order (the engine appends them) and
 *    are committed before the rest runs: PostgreSQL refuses a value used in the transaction that
 *    added it (55P04), and the rest sets defaults and casts with them. The file then manages its
 *    own transactions, which both runners send as written;
 *  - what a schema diff cannot undo (data changes, functions, triggers, views, extensions), said
 *    as notes so that nobody takes the rollback for a restore.
 */
import type { ConstraintIndex, SchemaObject } from '../db/schema-objects.js';
import { parseStatements, type ParsedStatement } from './execution-mode.js';
import { constraintSteps, mentionedObjects, objectSteps } from './object-steps.js';
import type { Migration } from '../read/migrations-folder.js';

type Node = Record<string, unknown>;

const relationName = (node: Node | undefined): string | undefined => (node?.relation as Node | undefined)?.relname as string | undefined;
const lastSval = (items: unknown): string | undefined => (((items as Node[] | undefined) ?? []).at(-1)?.String as Node | undefined)?.sval as string | undefined;

/** Names of the indexes a migration creates or drops CONCURRENTLY, and the names it renames them to. Pure. */
export function concurrentIndexes(statements: readonly ParsedStatement[]): Set<string> {
  const names = new Set<string>();
  for (const { nodeType, node } of statements) {
    if (nodeType === 'IndexStmt' && node.concurrent === true && typeof node.idxname === 'string') names.add(node.idxname);
    if (nodeType === 'DropStmt' && node.concurrent === true && node.removeType === 'OBJECT_INDEX') {
      for (const object of (node.objects as Node[] | undefined) ?? []) {
        const name = lastSval((object.List as Node | undefined)?.items);
        if (name) names.add(name);
      }
    }
    if (nodeType === 'RenameStmt' && node.renameType === 'OBJECT_INDEX' && names.has(relationName(node) ?? '')) names.add(String(node.newname));
  }
  return names;
}

/** Enum types of the state a down script goes to: type name → labels in order. */
export type EnumOrder = ReadonlyMap<string, readonly string[]>;

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * The down SQL with its ALTER TYPE … ADD VALUE statements moved first, each BEFORE the label that
 * follows it in `order` (added from the last to the first, so that label exists), in a
 * transaction of their own ahead of the rest. Unchanged without such a statement. Pure.
 * They are IF NOT EXISTS: committed before the rest, they stay when a later statement fails
 * (measured on PostgreSQL 15: the migration is recorded failed, the values are there), so the
 * same file runs again once the cause is fixed (`resolve --rolled-back`, then `migrate`) instead
 * of failing on "enum label already exists".
 */
export function isolateEnumAdditions(sql: string, statements: readonly ParsedStatement[], order: EnumOrder): string {
  const additions = statements.filter((s) => s.nodeType === 'AlterEnumStmt' && typeof s.node.newVal === 'string');
  if (additions.length === 0) return sql;
  const byType = new Map<string, { written: string; labels: string[]; statements: string[] }>();
  for (const { node, text } of additions) {
    const names = ((node.typeName as Node[] | undefined) ?? []).map((n) => String((n.String as Node | undefined)?.sval ?? ''));
    const type = names.at(-1)!;
    const entry = byType.get(type) ?? { written: names.map(quoteIdent).join('.'), labels: [], statements: [] };
    entry.labels.push(String(node.newVal));
    entry.statements.push(`${text.replace(/^(?:\s*--[^\n]*\n)+/, '').trim().replace(/\bADD\s+VALUE\s+(?!IF\s+NOT\s+EXISTS\b)/i, 'ADD VALUE IF NOT EXISTS ')};`);
    byType.set(type, entry);
  }
  const added: string[] = [];
  for (const [type, entry] of byType) {
    const target = order.get(type);
    if (!target || !entry.labels.every((label) => target.includes(label))) {
      added.push(...entry.statements);
      continue;
    }
    const adding = target.filter((label) => entry.labels.includes(label)).reverse();
    for (const label of adding) {
      const next = target[target.indexOf(label) + 1];
      added.push(`ALTER TYPE ${entry.written} ADD VALUE IF NOT EXISTS ${quoteLiteral(label)}${next === undefined ? '' : ` BEFORE ${quoteLiteral(next)}`};`);
    }
  }
  const rest = withoutStatements(sql, statements, new Set(additions)).trim();
  const head = '-- AlterEnum: values added back first, committed on their own (PostgreSQL refuses a value used in the transaction that added it)';
  if (!rest.replace(/--[^\n]*/g, '').trim()) return `${head}\n${added.join('\n')}\n`;
  return `${head}\nBEGIN;\n${added.join('\n')}\nCOMMIT;\n\nBEGIN;\n\n${rest}\n\nCOMMIT;\n`;
}

/** The script without the given statements (their leading comments go with them). Pure. */
function withoutStatements(sql: string, statements: readonly ParsedStatement[], drop: ReadonlySet<ParsedStatement>): string {
  const bytes = Buffer.from(sql, 'utf8');
  const kept: Buffer[] = [];
  statements.forEach((statement, i) => {
    if (drop.has(statement)) return;
    const end = i + 1 < statements.length ? statements[i + 1]!.offset : bytes.length;
    kept.push(bytes.subarray(statement.offset, end));
  });
  return Buffer.concat(kept).toString('utf8').replace(/^\s*;/, '');
}

const CREATE_INDEX = /^((?:\s*--[^\n]*\n|\s*\/\*[\s\S]*?\*\/)*\s*CREATE\s+(?:UNIQUE\s+)?INDEX)\s+(?!CONCURRENTLY\b)/i;

/**
 * The down SQL with each CREATE INDEX of the named indexes made CONCURRENTLY (the rest byte for
 * byte). `statements` is the parse of `sql`. Pure.
 */
export function withConcurrentIndexBuilds(sql: string, statements: readonly ParsedStatement[], indexes: ReadonlySet<string>): string {
  if (indexes.size === 0) return sql;
  const bytes = Buffer.from(sql, 'utf8');
  const pieces: Buffer[] = [];
  let at = 0;
  for (const { nodeType, node, offset } of statements) {
    if (nodeType !== 'IndexStmt' || node.concurrent === true || !indexes.has(String(node.idxname))) continue;
    const rest = bytes.subarray(offset).toString('utf8');
    const match = CREATE_INDEX.exec(rest);
    if (!match) continue;
    const head = Buffer.byteLength(match[1]!, 'utf8');
    pieces.push(bytes.subarray(at, offset + head), Buffer.from(' CONCURRENTLY', 'utf8'));
    at = offset + head;
  }
  pieces.push(bytes.subarray(at));
  return Buffer.concat(pieces).toString('utf8');
}

/** Statement kinds whose effect no schema diff undoes: a rollback leaves it in place. */
const DATA_NOT_UNDONE: Record<string, string> = {
  InsertStmt: 'data it inserted stays',
  UpdateStmt: 'data it updated stays as updated',
  DeleteStmt: 'rows it deleted are not restored',
  TruncateStmt: 'rows it truncated are not restored',
  DoStmt: 'what its DO block did is not undone',
};
/** Objects the schema engine does not see: undone only when the rollback reads both catalogs (core/object-steps.ts). */
const OBJECTS_NOT_UNDONE: Record<string, string> = {
  CreateFunctionStmt: 'functions are not seen by the schema engine: it stays',
  CreateTrigStmt: 'triggers are not seen by the schema engine: it stays (unless its table is dropped)',
  ViewStmt: 'views are not seen by the schema engine: it stays',
  CreateExtensionStmt: 'extensions are not seen by the schema engine: it stays',
  CreateSeqStmt: 'standalone sequences are not seen by the schema engine: it stays',
};

/** One line per statement of an undone migration whose effect the rollback does not undo; `objects`: also the objects outside the engine's model. Pure. */
export function notUndone(migration: string, statements: readonly ParsedStatement[], { objects = true }: { objects?: boolean } = {}): string[] {
  const reasons = objects ? { ...DATA_NOT_UNDONE, ...OBJECTS_NOT_UNDONE } : DATA_NOT_UNDONE;
  return statements
    .filter((s) => s.nodeType in reasons && !(s.nodeType === 'InsertStmt' && createsItsTable(statements, s)))
    .map((s) => `${migration}: ${firstWords(s.text)}… (${reasons[s.nodeType]})`);
}

/** An INSERT into a table the same migration creates: the rollback drops the table, rows and all. */
function createsItsTable(statements: readonly ParsedStatement[], insert: ParsedStatement): boolean {
  const table = relationName(insert.node);
  return statements.some((s) => s.nodeType === 'CreateStmt' && relationName(s.node) === table);
}

function firstWords(text: string): string {
  const words = text.replace(/^(?:\s*--[^\n]*\n)+/, '').trim().split(/\s+/);
  return words.slice(0, 5).join(' ');
}

/** The catalogs a rollback reads, now and at the target (db/schema-objects.ts). */
export interface DownCatalogs {
  now: { objects: ReadonlyMap<string, SchemaObject>; constraints: ReadonlyMap<string, ConstraintIndex> };
  target: { objects: ReadonlyMap<string, SchemaObject>; constraints: ReadonlyMap<string, ConstraintIndex> };
}

/**
 * The down SQL of `undone` (in any order), made to run and to reach the target: with `catalogs`,
 * constraint-backed indexes as constraints and the functions, triggers, … the undone migrations
 * touched put back (core/object-steps.ts); indexes of CONCURRENTLY migrations re-created
 * CONCURRENTLY; and the notes on what it still does not undo.
 */
export async function adjustDownSql(sql: string, undone: readonly Pick<Migration, 'name' | 'sql'>[], catalogs?: DownCatalogs): Promise<{ body: string; notes: string[] }> {
  const concurrent = new Set<string>();
  const notes: string[] = [];
  const touched: ParsedStatement[] = [];
  for (const migration of undone) {
    // A file PostgreSQL's parser rejects has been applied as written; it is simply not inspected.
    const statements = await parseStatements(migration.sql).catch(() => []);
    for (const name of concurrentIndexes(statements)) concurrent.add(name);
    notes.push(...notUndone(migration.name, statements, { objects: catalogs === undefined }));
    touched.push(...statements);
  }
  let body = sql;
  if (catalogs) {
    body = constraintSteps(body, await statementsOf(body), catalogs.now.constraints, catalogs.target.constraints);
    const handled = mentionedObjects(await statementsOf(body)).get('index') ?? new Set<string>();
    const { before, after } = objectSteps(catalogs.now.objects, catalogs.target.objects, mentionedObjects(touched), handled);
    const section = (title: string, steps: string[]) => (steps.length > 0 ? `-- ${title}\n${steps.join('\n\n')}\n\n` : '');
    const title = (when: string) => `What the schema engine does not manage, as at the target (${when} its SQL)`;
    body = `${section(title('before'), before)}${body}${after.length > 0 ? '\n' : ''}${section(title('after'), after)}`;
  }
  if (concurrent.size > 0) body = withConcurrentIndexBuilds(body, await statementsOf(body), concurrent);
  return { body, notes };
}

/** The statements of a script; none for one that is empty or only comments (the parser refuses an empty query). */
export async function statementsOf(sql: string): Promise<ParsedStatement[]> {
  if (!sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim()) return [];
  return parseStatements(sql);
}
