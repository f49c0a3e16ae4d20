/**
 * Reads what the classifier's context needs about the tables a migration
 * touches: existence, pg_class.reltuples, and whether the table is empty.
 * Read-only, on the caller's session, and never allowed to wait on a busy
 * table (a short lock_timeout; a table it cannot read is simply unknown).
 */
import type pg from 'pg';
import { quoteIdent } from '../config/target.js';

/** What the database says about one table named by a finding. */
export interface TableFacts {
  /** The table exists in the target schema right now. */
  exists: boolean;
  /** pg_class.reltuples, or an exact count bounded by the threshold when the table was never analyzed; null if unknown. */
  estimatedRows: number | null;
  /** Exactly known to hold no row (a bounded scan found none); null if unknown. */
  empty: boolean | null;
  /** Non-null values of the columns a DROP COLUMN names, counted over at most the large-table threshold of rows (`exact: false`: a lower bound). */
  columnValues?: ReadonlyMap<string, { nonNull: number; exact: boolean }>;
}

/**
 * Facts for the named tables of `schema`; tables that could not be read are left out.
 * `droppedColumns` (table → columns a DROP COLUMN names) adds how many non-null values each holds.
 */
export async function readTableFacts(
  client: pg.Client,
  schema: string,
  tables: string[],
  largeTableRows: number,
  droppedColumns: ReadonlyMap<string, readonly string[]> = new Map(),
): Promise<Map<string, TableFacts>> {
  const facts = new Map<string, TableFacts>();
  if (tables.length === 0) return facts;
  const result = await client.query<{ name: string; regclass: string | null; reltuples: number | null }>(
    `SELECT t.name, c.oid::regclass::text AS regclass, c.reltuples::float8 AS reltuples
       FROM unnest($1::text[]) AS t(name)
       LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident($2) || '.' || quote_ident(t.name)) AND c.relkind IN ('r', 'p', 'm')`,
    [tables, schema],
  );
  for (const row of result.rows) {
    if (row.regclass === null) {
      facts.set(row.name, { exists: false, estimatedRows: null, empty: null });
      continue;
    }
    // reltuples is -1 until the first VACUUM/ANALYZE (PostgreSQL 14+), and may say 0 for a table filled since:
    // then count, but never more than the threshold (the answer is "big" either way).
    const estimate = row.reltuples !== null && row.reltuples > 0 ? row.reltuples : null;
    const limit = estimate === null ? largeTableRows : 1;
    const counted = await boundedCount(client, row.regclass, limit);
    const columns = droppedColumns.get(row.name);
    const columnValues = columns?.length ? await countNonNull(client, row.regclass, columns, largeTableRows) : null;
    const values = columnValues ? { columnValues } : {};
    if (counted === null) facts.set(row.name, { exists: true, estimatedRows: estimate, empty: null, ...values });
    else facts.set(row.name, { exists: true, estimatedRows: estimate ?? counted, empty: counted === 0, ...values });
  }
  return facts;
}

/**
 * Non-null values of each column over at most `limit` rows (a lower bound, `exact: false`, when the
 * table has more), or null when the table is locked or unreadable or a column does not exist (yet).
 */
async function countNonNull(client: pg.Client, regclass: string, columns: readonly string[], limit: number): Promise<Map<string, { nonNull: number; exact: boolean }> | null> {
  const counts = columns.map((column, i) => `count(${quoteIdent(column)}) AS c${i}`).join(', ');
  const picked = columns.map((column) => quoteIdent(column)).join(', ');
  const row = await readOnlyBounded<Record<string, string>>(client, `SELECT count(*) AS n, ${counts} FROM (SELECT ${picked} FROM ${regclass} LIMIT ${Math.max(1, limit) + 1}) AS rows`);
  if (!row) return null;
  const exact = Number(row.n) <= limit;
  return new Map(columns.map((column, i) => [column, { nonNull: Math.min(Number(row[`c${i}`]), limit), exact }]));
}

/** The table of each named index of `schema` (indexes that do not exist are left out). */
export async function readIndexTables(client: pg.Client, schema: string, indexes: string[]): Promise<Map<string, string>> {
  const result = await client.query<{ index: string; table: string }>(
    `SELECT indexname AS index, tablename AS table FROM pg_indexes WHERE schemaname = $1 AND indexname = ANY($2::text[])`,
    [schema, indexes],
  );
  return new Map(result.rows.map((row) => [row.index, row.table]));
}

/** count(*) of at most `limit` rows, or null when the table is locked or unreadable. */
async function boundedCount(client: pg.Client, regclass: string, limit: number): Promise<number | null> {
  // regclass::text is already quoted and schema-qualified where needed.
  const row = await readOnlyBounded<{ n: string }>(client, `SELECT count(*) AS n FROM (SELECT 1 FROM ${regclass} LIMIT ${Math.max(1, limit)}) AS rows`);
  return row ? Number(row.n) : null;
}

/** The one row of a read-only query that may neither wait on a busy table (1 s) nor run long (5 s); null when it could not. */
async function readOnlyBounded<T extends pg.QueryResultRow>(client: pg.Client, sql: string): Promise<T | null> {
  try {
    await client.query(`BEGIN READ ONLY; SET LOCAL lock_timeout = '1s'; SET LOCAL statement_timeout = '5s'`);
    const result = await client.query<T>(sql);
    await client.query('COMMIT');
    return result.rows[0]!;
  } catch {
    await client.query('ROLLBACK').catch(() => {});
    return null;
  }
}

/** Indexes of the schema that PostgreSQL marks INVALID (a failed or interrupted CREATE INDEX CONCURRENTLY leaves one). */
export async function readInvalidIndexes(client: pg.Client, schema: string): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname = $1 ORDER BY 1`,
    [schema],
  );
  return result.rows.map((r) => r.name);
}

/** What to say about invalid indexes, as warnings. Pure. */
export function invalidIndexWarnings(names: string[]): string[] {
  return names.map(
    (name) => `Index "${name}" is INVALID (left by a failed or interrupted CREATE INDEX CONCURRENTLY): queries do not use it but writes maintain it. Run DROP INDEX CONCURRENTLY "${name}"; then re-create it (resolve the failed migration and migrate again).`,
  );
}
