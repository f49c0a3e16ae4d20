/**
 * PostgreSQL's table-level lock modes, which of them conflict, and the locks a
 * parsed statement will request on which relations (tablecmds.c's
 * AlterTableGetLockLevel and the documentation's "Explicit Locking" table).
 * Pure: parse tree in, lock needs out. The blocker search and the online
 * rewrites both start from here.
 */
import type { ParsedStatement } from './execution-mode.js';

/** Lock modes as pg_locks.mode names them, weakest first. */
export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** The SQL name of a mode (`ACCESS EXCLUSIVE`), as the rules table and the documentation write it. */
export function lockName(mode: LockMode): string {
  return mode.replace(/Lock$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** The modes each mode conflicts with (PostgreSQL's conflict table). */
const CONFLICTS: Record<LockMode, readonly LockMode[]> = {
  AccessShareLock: ['AccessExclusiveLock'],
  RowShareLock: ['ExclusiveLock', 'AccessExclusiveLock'],
  RowExclusiveLock: ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareUpdateExclusiveLock: ['ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareLock: ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareRowExclusiveLock: ['RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ExclusiveLock: ['RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  AccessExclusiveLock: LOCK_MODES,
};

/** The modes held by other sessions that make a request for `mode` wait. */
export function conflictingModes(mode: LockMode): readonly LockMode[] {
  return CONFLICTS[mode];
}

/** Whether `a` is stronger than `b` (conflicts with more). */
export function stronger(a: LockMode, b: LockMode): boolean {
  return LOCK_MODES.indexOf(a) > LOCK_MODES.indexOf(b);
}

/** What the application feels while this mode is held or waited for: reads take ACCESS SHARE, writes ROW EXCLUSIVE. */
export function whatItBlocks(mode: LockMode): 'nothing' | 'writes' | 'reads and writes' {
  if (CONFLICTS[mode].includes('AccessShareLock')) return 'reads and writes';
  if (CONFLICTS[mode].includes('RowExclusiveLock')) return 'writes';
  return 'nothing';
}

/** One lock a statement will request: a relation (table or index) of a schema, and the mode. */
export interface LockNeed {
  /** Schema as written, or undefined for the migration's schema (search_path). */
  schema: string | undefined;
  name: string;
  mode: LockMode;
}

type Node = Record<string, unknown>;
const rangeVar = (node: unknown): { schema: string | undefined; name: string } | undefined => {
  const r = ((node as Node | undefined)?.RangeVar ?? node) as Node | undefined;
  return r?.relname ? { schema: r.schemaname as string | undefined, name: r.relname as string } : undefined;
};
const need = (node: unknown, mode: LockMode): LockNeed[] => {
  const r = rangeVar(node);
  return r ? [{ ...r, mode }] : [];
};

/** The mode one ALTER TABLE sub-command needs (AlterTableGetLockLevel; unknown ones take the strongest). */
function alterTableMode(cmd: Node): LockMode {
  switch (cmd.subtype) {
    case 'AT_SetStatistics':
    case 'AT_SetOptions':
    case 'AT_ResetOptions':
    case 'AT_ValidateConstraint':
    case 'AT_ClusterOn':
    case 'AT_DropCluster':
    case 'AT_AttachPartition':
      return 'ShareUpdateExclusiveLock';
    case 'AT_EnableTrig':
    case 'AT_EnableAlwaysTrig':
    case 'AT_EnableReplicaTrig':
    case 'AT_DisableTrig':
    case 'AT_EnableTrigAll':
    case 'AT_DisableTrigAll':
    case 'AT_EnableTrigUser':
    case 'AT_DisableTrigUser':
      return 'ShareRowExclusiveLock';
    case 'AT_AddConstraint': {
      const constraint = (cmd.def as Node | undefined)?.Constraint as Node | undefined;
      return constraint?.contype === 'CONSTR_FOREIGN' ? 'ShareRowExclusiveLock' : 'AccessExclusiveLock';
    }
    case 'AT_DetachPartition':
      return (cmd.def as Node | undefined)?.PartitionCmd && ((cmd.def as Node).PartitionCmd as Node).concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock';
    default:
      return 'AccessExclusiveLock';
  }
}

/** The tables a list of constraints references (FOREIGN KEY … REFERENCES t), each locked SHARE ROW EXCLUSIVE. */
function referencedTables(constraints: Node[]): LockNeed[] {
  return constraints.filter((c) => c.contype === 'CONSTR_FOREIGN').flatMap((c) => need(c.pktable, 'ShareRowExclusiveLock'));
}

const constraintNodes = (list: unknown): Node[] => ((list as Node[] | undefined) ?? []).map((c) => c.Constraint as Node).filter(Boolean);

/**
 * The locks a statement requests on existing relations, strongest per relation.
 * Statements on no relation (CREATE TYPE, GRANT, …) and procedural code (DO) need none that can be known.
 */
export function lockNeedsOf({ nodeType, node }: ParsedStatement): LockNeed[] {
  const needs: LockNeed[] = [];
  switch (nodeType) {
    case 'AlterTableStmt': {
      const cmds = ((node.cmds as Node[] | undefined) ?? []).map((c) => c.AlterTableCmd as Node);
      const strongest = cmds.map(alterTableMode).reduce<LockMode>((a, b) => (stronger(b, a) ? b : a), 'AccessShareLock');
      const objtype = node.objtype as string | undefined;
      // ALTER INDEX … SET (…) and friends lock the index; the rules above are for tables.
      needs.push(...need(node.relation, objtype === 'OBJECT_INDEX' ? 'ShareUpdateExclusiveLock' : strongest));
      needs.push(...referencedTables(cmds.map((c) => (c.def as Node | undefined)?.Constraint as Node).filter(Boolean)));
      break;
    }
    case 'IndexStmt':
      needs.push(...need(node.relation, node.concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock'));
      break;
    case 'CreateStmt': {
      const columns = ((node.tableElts as Node[] | undefined) ?? []).map((e) => e.ColumnDef as Node | undefined).filter(Boolean) as Node[];
      const tableConstraints = ((node.tableElts as Node[] | undefined) ?? []).map((e) => e.Constraint as Node | undefined).filter(Boolean) as Node[];
      needs.push(...referencedTables([...tableConstraints, ...columns.flatMap((c) => constraintNodes(c.constraints))]));
      for (const parent of (node.inhRelations as Node[] | undefined) ?? []) needs.push(...need(parent, node.partbound ? 'AccessExclusiveLock' : 'ShareUpdateExclusiveLock'));
      break;
    }
    case 'RenameStmt':
      // ALTER INDEX … RENAME takes SHARE UPDATE EXCLUSIVE since PostgreSQL 12; tables, columns and constraints ACCESS EXCLUSIVE.
      needs.push(...need(node.relation, node.renameType === 'OBJECT_INDEX' ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock'));
      break;
    case 'DropStmt': {
      const type = node.removeType as string;
      if (type !== 'OBJECT_TABLE' && type !== 'OBJECT_INDEX' && type !== 'OBJECT_VIEW' && type !== 'OBJECT_MATVIEW') break;
      const mode: LockMode = node.concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock';
      for (const object of (node.objects as Node[] | undefined) ?? []) {
        const names = (((object.List as Node | undefined)?.items as Node[] | undefined) ?? []).map((n) => String((n.String as Node | undefined)?.sval ?? ''));
        if (names.length > 0) needs.push({ schema: names.length > 1 ? names.at(-2) : undefined, name: names.at(-1)!, mode });
      }
      break;
    }
    case 'TruncateStmt':
      for (const relation of (node.relations as Node[] | undefined) ?? []) needs.push(...need(relation, 'AccessExclusiveLock'));
      break;
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'InsertStmt':
      needs.push(...need(node.relation, 'RowExclusiveLock'));
      break;
    case 'CreateTrigStmt':
      needs.push(...need(node.relation, 'ShareRowExclusiveLock'));
      break;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      needs.push(...need(node.table, 'AccessExclusiveLock'));
      break;
    case 'ClusterStmt':
      needs.push(...need(node.relation, 'AccessExclusiveLock'));
      break;
    case 'VacuumStmt':
      for (const rel of (node.rels as Node[] | undefined) ?? []) needs.push(...need((rel.VacuumRelation as Node | undefined)?.relation, 'ShareUpdateExclusiveLock'));
      break;
    default:
      break;
  }
  return strongestPerRelation(needs);
}

/** One need per relation, with the strongest mode asked for it. */
export function strongestPerRelation(needs: LockNeed[]): LockNeed[] {
  const byRelation = new Map<string, LockNeed>();
  for (const n of needs) {
    const key = `${n.schema ?? ''}\u0000${n.name}`;
    const known = byRelation.get(key);
    if (!known || stronger(n.mode, known.mode)) byRelation.set(key, n);
  }
  return [...byRelation.values()];
}

/** The strongest mode among needs (ACCESS SHARE when there are none). */
export function strongestMode(needs: LockNeed[]): LockMode {
  return needs.reduce<LockMode>((a, n) => (stronger(n.mode, a) ? n.mode : a), 'AccessShareLock');
}
