/**
 * Reads what the classifier's context needs about the tables a migration
 * touches: existence, pg_class.reltuples, and whether the table is empty.
 * Read-only, on the caller's session, and never allowed to wait on a busy
 * table (a short lock_timeout; a table it cannot read is simply unknown).
 */
import type pg from 'pg';

/** What the database says about one table named by a finding. */
export interface TableFacts {
  /** The table exists in the target schema right now. */
  exists: boolean;
  /** pg_class.reltuples, or an exact count bounded by the threshold when the table was never analyzed; null if unknown. */
  estimatedRows: number | null;
  /** Exactly known to hold no row (a bounded scan found none); null if unknown. */
  empty: boolean | null;
}

/** Facts for the named tables of `schema`; tables that could not be read are left out. */
export async function readTableFacts(client: pg.Client, schema: string, tables: string[], largeTableRows: number): Promise<Map<string, TableFacts>> {
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
    if (counted === null) facts.set(row.name, { exists: true, estimatedRows: estimate, empty: null });
    else facts.set(row.name, { exists: true, estimatedRows: estimate ?? counted, empty: counted === 0 });
  }
  return facts;
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
  try {
    await client.query(`BEGIN READ ONLY; SET LOCAL lock_timeout = '1s'; SET LOCAL statement_timeout = '5s'`);
    // regclass::text is already quoted and schema-qualified where needed.
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${regclass} LIMIT ${Math.max(1, limit)}) AS rows`);
    await client.query('COMMIT');
    return Number(result.rows[0]!.n);
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
