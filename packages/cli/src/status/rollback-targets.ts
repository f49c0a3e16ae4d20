/**
 * For `status --json`: where a rollback is possible and what each would drop, read from the SQL
 * of the migrations it would undo (PostgreSQL's parser) and checked against the live catalog.
 * A committed down.sql says exactly what it drops; without one, what the undone migrations
 * created (tables, columns, indexes, enum types) and still exists is what the schema engine's
 * down SQL drops. Cheap: no shadow database, one catalog query.
 */
import type pg from 'pg';
import type { StatusReport } from './diagnose.js';
import { parseStatements, type ParsedStatement } from '../plan/execution-mode.js';
import type { Migration } from '../read/migrations-folder.js';
import { readDownFile } from '../engine/down-script.js';

/** Objects by kind; columns as `table.column`. */
export interface DroppedObjects {
  tables: string[];
  columns: string[];
  indexes: string[];
  types: string[];
}

/** One `rollback --to <to>` and what it would do. */
export interface RollbackTarget {
  to: string;
  /** The migrations it undoes, newest first. */
  undoes: string[];
  /** What it would drop that exists now. */
  drops: DroppedObjects;
  /** Where the down SQL would come from. */
  downSql: 'committed' | 'computed' | 'mixed';
}

export interface RollbackAvailability {
  /** False when the history is not fully deployed and intact (say why in `reason`), or fewer than two migrations are applied. */
  possible: boolean;
  reason?: string;
  /** The most recent targets first, at most MAX_TARGETS. */
  targets: RollbackTarget[];
  /** Older applied migrations that are targets too but not listed. */
  omitted: number;
}

const MAX_TARGETS = 10;

type Node = Record<string, unknown>;
const relname = (node: unknown): string | undefined => ((node as Node | undefined)?.relation as Node | undefined)?.relname as string | undefined;
const lastSval = (items: unknown): string => String(((((items as Node[] | undefined) ?? []).at(-1)?.String as Node | undefined)?.sval) ?? '');

/** What a script drops (a down.sql) or creates (a forward migration, whose undoing drops it). Pure. */
export function objectsOf(statements: readonly ParsedStatement[], mode: 'dropped' | 'created'): DroppedObjects {
  const found: DroppedObjects = { tables: [], columns: [], indexes: [], types: [] };
  for (const { nodeType, node } of statements) {
    if (mode === 'created' && nodeType === 'CreateStmt') found.tables.push(relname(node)!);
    if (mode === 'created' && nodeType === 'IndexStmt' && typeof node.idxname === 'string') found.indexes.push(node.idxname);
    if (mode === 'created' && nodeType === 'CreateEnumStmt') found.types.push(lastSval(node.typeName));
    if (mode === 'dropped' && nodeType === 'DropStmt') {
      const kind = { OBJECT_TABLE: 'tables', OBJECT_INDEX: 'indexes', OBJECT_TYPE: 'types' }[String(node.removeType)] as keyof DroppedObjects | undefined;
      for (const object of kind ? ((node.objects as Node[] | undefined) ?? []) : []) {
        found[kind!].push(lastSval(kind === 'types' ? (object.TypeName as Node | undefined)?.names : (object.List as Node | undefined)?.items));
      }
    }
    if (nodeType === 'AlterTableStmt') {
      for (const { AlterTableCmd: cmd } of (node.cmds as Array<{ AlterTableCmd: Node }> | undefined) ?? []) {
        const column = mode === 'created' && cmd.subtype === 'AT_AddColumn' ? ((cmd.def as Node | undefined)?.ColumnDef as Node | undefined)?.colname : mode === 'dropped' && cmd.subtype === 'AT_DropColumn' ? cmd.name : undefined;
        if (typeof column === 'string') found.columns.push(`${relname(node)}.${column}`);
      }
    }
  }
  return found;
}

/** Rollback targets of a status report; `local` is the migrations folder as read for it. */
export async function readRollbackTargets(client: pg.Client, schema: string, report: StatusReport, local: readonly Migration[], migrationsDir: string): Promise<RollbackAvailability> {
  const blocked = report.state !== 'upToDate' ? `the database is not up to date with the migrations folder (${report.state})` : report.applied.length < 2 ? 'fewer than two migrations are applied' : undefined;
  if (blocked) return { possible: false, reason: blocked, targets: [], omitted: Math.max(0, report.applied.length - 1) };
  const applied = report.applied.map((a) => a.name);
  const byName = new Map(local.map((m) => [m.name, m]));
  const newest = applied.slice(-(MAX_TARGETS + 1));
  const perMigration = new Map<string, { drops: DroppedObjects; committed: boolean }>();
  for (const name of newest.slice(1)) {
    const down = readDownFile(migrationsDir, name);
    const statements = await parseStatements(down ?? byName.get(name)!.sql).catch(() => []);
    perMigration.set(name, { drops: objectsOf(statements, down === null ? 'created' : 'dropped'), committed: down !== null });
  }
  const existing = await existingObjects(client, schema, [...perMigration.values()].map((m) => m.drops));
  const targets: RollbackTarget[] = [];
  for (let i = newest.length - 2; i >= 0; i--) {
    const undoes = newest.slice(i + 1).reverse();
    const parts = undoes.map((name) => perMigration.get(name)!);
    const drops: DroppedObjects = { tables: [], columns: [], indexes: [], types: [] };
    for (const kind of Object.keys(drops) as Array<keyof DroppedObjects>) {
      drops[kind] = [...new Set(parts.flatMap((p) => p.drops[kind]))].filter((name) => existing[kind].has(name)).sort();
    }
    const committed = parts.filter((p) => p.committed).length;
    targets.push({ to: newest[i]!, undoes, drops, downSql: committed === parts.length ? 'committed' : committed === 0 ? 'computed' : 'mixed' });
  }
  return { possible: true, targets, omitted: applied.length - newest.length };
}

/** Which of the named objects exist in `schema` now (one catalog query). */
async function existingObjects(client: pg.Client, schema: string, lists: readonly DroppedObjects[]): Promise<Record<keyof DroppedObjects, Set<string>>> {
  const all = (kind: keyof DroppedObjects) => [...new Set(lists.flatMap((l) => l[kind]))];
  const result = await client.query<{ kind: keyof DroppedObjects; name: string }>(
    `SELECT 'tables' AS kind, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2::text[])
     UNION ALL SELECT 'indexes', c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('i', 'I') AND c.relname = ANY($3::text[])
     UNION ALL SELECT 'types', t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = ANY($4::text[])
     UNION ALL SELECT 'columns', c.relname || '.' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND c.relname || '.' || a.attname = ANY($5::text[])`,
    [schema, all('tables'), all('indexes'), all('types'), all('columns')],
  );
  const found: Record<keyof DroppedObjects, Set<string>> = { tables: new Set(), columns: new Set(), indexes: new Set(), types: new Set() };
  for (const row of result.rows) found[row.kind].add(row.name);
  return found;
}
