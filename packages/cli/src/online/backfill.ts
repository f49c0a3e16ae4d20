/**
 * A batched UPDATE: keyset batches over the table's primary key, each batch
 * its own short transaction that also records the last key done, with a pause
 * between batches so the application's writes go first. The highest key is
 * read once at the start, so the run ends even while rows keep being inserted
 * (rows inserted after the start were not in the original statement's
 * snapshot either).
 */
import type pg from 'pg';
import { DigilogError } from '../errors.js';
import { quoteIdent } from './deparse.js';
import { relationSql, type Backfill } from './rewrite.js';

/** Where a batched UPDATE stands: the last key done (null: none yet), the highest key to do (null: table empty). */
export interface BatchCursor {
  cursor: string[] | null;
  upper: string[] | null;
  rows: number;
}

export interface BatchOptions {
  schema: string;
  batchSize: number;
  pauseMs: number;
  /**
   * Sends one batch in a transaction of its own (the caller adds lock retries), records `after(result)`
   * as the progress in that same transaction, and commits.
   */
  sendBatch: (sql: string, params: string[], after: (result: BatchResult) => BatchCursor) => Promise<BatchCursor>;
}

/** What one batch did: rows updated, and the last key it visited (null: no row left). */
export interface BatchResult {
  updated: number;
  last: string[] | null;
}

/** The primary key columns of a table and their types, in key order; [] when it has none. */
export async function primaryKeyOf(client: pg.Client, backfill: Backfill, schema: string): Promise<Array<{ name: string; type: string }>> {
  const result = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass(quote_ident($1) || '.' || quote_ident($2)) AND i.indisprimary
      ORDER BY k.n`,
    [backfill.relation.schema ?? schema, backfill.relation.name],
  );
  return result.rows;
}

/** The SQL of one batch; $1…$n the cursor (absent on the first batch), then the upper bound. */
export function batchSql(backfill: Backfill, key: Array<{ name: string; type: string }>, { first, size }: { first: boolean; size: number }): string {
  const table = relationSql(backfill.relation);
  const alias = quoteIdent(backfill.alias);
  const cols = key.map((k) => `${alias}.${quoteIdent(k.name)}`);
  const row = (values: string[]) => `(${values.join(', ')})`;
  const params = (from: number) => key.map((k, i) => `$${from + i}::${k.type}`);
  const renamed = key.map((k, i) => `${alias}.${quoteIdent(k.name)} AS "digilog_k${i}"`);
  const bounds = [...(first ? [] : [`${row(cols)} > ${row(params(1))}`]), `${row(cols)} <= ${row(params(first ? 1 : key.length + 1))}`];
  const condition = backfill.condition ? ` AND (${backfill.condition})` : '';
  return `WITH batch AS (
  SELECT ${renamed.join(', ')} FROM ${table} AS ${alias} WHERE ${bounds.join(' AND ')}${condition} ORDER BY ${cols.join(', ')} LIMIT ${size}
), done AS (
  ${backfill.head} FROM batch WHERE ${row(cols)} = ${row(key.map((_, i) => `batch."digilog_k${i}"`))}${condition} RETURNING 1
)
SELECT (SELECT count(*) FROM done)::int AS updated,
       (SELECT ARRAY[${key.map((_, i) => `"digilog_k${i}"::text`).join(', ')}] FROM batch ORDER BY ${key.map((_, i) => `"digilog_k${i}"`).join(', ')} DESC LIMIT 1) AS last`;
}

/** The highest primary key now (text values), or null when the table is empty. */
async function upperKey(client: pg.Client, backfill: Backfill, key: Array<{ name: string }>): Promise<string[] | null> {
  const cols = key.map((k) => quoteIdent(k.name));
  const result = await client.query<{ upper: string[] | null }>(
    `SELECT ARRAY[${cols.map((c) => `${c}::text`).join(', ')}] AS upper FROM ${relationSql(backfill.relation)} ORDER BY ${cols.map((c) => `${c} DESC`).join(', ')} LIMIT 1`,
  );
  return result.rows[0]?.upper ?? null;
}

/**
 * Runs the batches from `from` (a resumed run) until a batch finds no row. Returns the final cursor.
 * A table without a primary key cannot be batched safely: the caller runs the statement whole instead.
 */
export async function runBatches(client: pg.Client, backfill: Backfill, key: Array<{ name: string; type: string }>, from: BatchCursor | undefined, options: BatchOptions): Promise<BatchCursor> {
  if (key.length === 0) throw new DigilogError('internal', `${backfill.relation.name} has no primary key to batch over`);
  let state: BatchCursor = from ?? { cursor: null, upper: await upperKey(client, backfill, key), rows: 0 };
  while (state.upper !== null) {
    const first = state.cursor === null;
    const sql = batchSql(backfill, key, { first, size: options.batchSize });
    const params = [...(first ? [] : state.cursor!), ...state.upper];
    const before = state;
    let finished = false;
    state = await options.sendBatch(sql, params, ({ updated, last }) => {
      finished = last === null;
      // The last batch moves the cursor to the upper bound: a rerun then finds nothing left.
      return { cursor: last ?? before.upper, upper: before.upper, rows: before.rows + updated };
    });
    if (finished) return state;
    if (options.pauseMs > 0) await new Promise((r) => setTimeout(r, options.pauseMs));
  }
  return state;
}
