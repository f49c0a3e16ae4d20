/**
 * Defect 1 of NOTES-prisma.md: `"char"` columns (OID 18) must reach the schema engine as
 * Character instead of failing in @prisma/adapter-pg with UnsupportedNativeDataType.
 */
import type { ColumnTypeEnum, SqlDriverAdapter, SqlQuery, SqlQueryable, SqlResultSet } from '@prisma/driver-adapter-utils';
import type pg from 'pg';

const CHAR_OID = 18;
const TEXT_OID = 25;

/** The adapter's result-producing step; private in its typings, present at run time (checked below). */
type WithPerformIO = { performIO(query: SqlQuery): Promise<pg.QueryArrayResult> };

/**
 * Defect 1. adapter-pg throws on OID 18 before the engine sees a row, and
 * mapping it to Text is not enough (the describer wants Character). So the
 * fields are relabelled text for the adapter, and the column types fixed in
 * the result. Transactions are wrapped the same way.
 */
export function reportCharAsCharacter<T extends SqlQueryable>(queryable: T, characterType: (typeof ColumnTypeEnum)['Character']): T {
  const internals = queryable as unknown as WithPerformIO;
  if (typeof internals.performIO !== 'function') {
    throw new Error('@prisma/adapter-pg changed: performIO() not found; the "char" column work-around needs updating');
  }
  const charColumns = new WeakMap<SqlQuery, number[]>();
  const performIO = internals.performIO.bind(queryable);
  internals.performIO = async (query) => {
    const result = await performIO(query);
    const indexes: number[] = [];
    result.fields.forEach((field, index) => {
      if (field.dataTypeID === CHAR_OID) {
        field.dataTypeID = TEXT_OID;
        indexes.push(index);
      }
    });
    if (indexes.length > 0) charColumns.set(query, indexes);
    return result;
  };
  const queryRaw = queryable.queryRaw.bind(queryable);
  queryable.queryRaw = async (query: SqlQuery): Promise<SqlResultSet> => {
    const result = await queryRaw(query);
    for (const index of charColumns.get(query) ?? []) result.columnTypes[index] = characterType;
    return result;
  };
  const adapter = queryable as unknown as Partial<SqlDriverAdapter>;
  if (adapter.startTransaction) {
    const startTransaction = adapter.startTransaction.bind(queryable);
    adapter.startTransaction = async (isolationLevel) => reportCharAsCharacter(await startTransaction(isolationLevel), characterType);
  }
  return queryable;
}
