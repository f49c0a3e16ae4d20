/**
 * Reading and writing `_prisma_migrations`, byte-compatible with Prisma
 * Migrate: same DDL, uuid v4 ids, sha256 checksums, client-clock timestamps,
 * `applied_steps_count` 1 for an applied migration and 0 for a resolved one.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent, quoteLiteral } from '../config/target.js';

/** A row of `_prisma_migrations`, exactly as Prisma Migrate defines it. */
export interface MigrationRow {
  id: string;
  checksum: string;
  finishedAt: Date | null;
  migrationName: string;
  logs: string | null;
  rolledBackAt: Date | null;
  startedAt: Date;
  appliedStepsCount: number;
}

export const MIGRATIONS_TABLE = '_prisma_migrations';

/** The table in one schema. All SQL it builds uses literals, so each step is one simple-protocol round trip. */
export class MigrationHistory {
  readonly table: string;

  constructor(
    private readonly client: pg.Client,
    readonly schema: string,
  ) {
    this.table = `${quoteIdent(schema)}.${quoteIdent(MIGRATIONS_TABLE)}`;
  }

  /** Whether the migrations table exists in the schema. */
  async exists(): Promise<boolean> {
    const result = await this.client.query<{ found: boolean }>(
      `SELECT to_regclass(${quoteLiteral(this.table)}) IS NOT NULL AS found`,
    );
    return result.rows[0]?.found === true;
  }

  /** Whether the schema holds anything besides the migrations table (tables, views, sequences, types, functions). */
  async schemaIsEmpty(): Promise<boolean> {
    const schema = quoteLiteral(this.schema);
    const result = await this.client.query<{ count: string }>(`
      SELECT (
        (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ${schema} AND c.relname <> '${MIGRATIONS_TABLE}' AND c.relkind IN ('r','p','v','m','S','f'))
        + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = ${schema} AND t.typtype IN ('e','d','c') AND NOT EXISTS (
            SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c'))
        + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = ${schema} AND NOT EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'))
      )::text AS count`);
    return result.rows[0]?.count === '0';
  }

  /**
   * Creates the schema (if needed) and the table with Prisma's exact DDL. The new table is
   * writable by its owner only: `digilog-db roles` gives the application role DML on every
   * future table by default privileges, and this table must not be one of them (any other
   * grantee keeps SELECT, which status and health need).
   */
  async create(): Promise<void> {
    if (await this.exists()) return;
    const table = quoteLiteral(this.table);
    await this.client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)};
CREATE TABLE IF NOT EXISTS ${this.table} (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);
DO $digilog$ DECLARE grantee text; BEGIN
  FOR grantee IN SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END
    FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = ${table}::regclass AND a.grantee <> c.relowner AND a.privilege_type <> 'SELECT'
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON %s FROM %s', ${table}, grantee);
  END LOOP;
END $digilog$;`);
  }

  /** All rows, oldest first; null when the table does not exist. */
  async readRows(): Promise<MigrationRow[] | null> {
    if (!(await this.exists())) return null;
    const result = await this.client.query<{
      id: string;
      checksum: string;
      finished_at: Date | null;
      migration_name: string;
      logs: string | null;
      rolled_back_at: Date | null;
      started_at: Date;
      applied_steps_count: number;
    }>(`SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
        FROM ${this.table} ORDER BY started_at ASC, migration_name ASC`);
    return result.rows.map((row) => ({
      id: row.id,
      checksum: row.checksum,
      finishedAt: row.finished_at,
      migrationName: row.migration_name,
      logs: row.logs,
      rolledBackAt: row.rolled_back_at,
      startedAt: row.started_at,
      appliedStepsCount: row.applied_steps_count,
    }));
  }

  /**
   * SQL that records a migration as started (finished_at NULL), so a crash
   * mid-script leaves a visible failed row, as Prisma's engine would.
   * Timestamps use the server's clock_timestamp(): the statement may travel
   * in one query with the script before it, and one clock for every replica
   * keeps started/finished ordered.
   */
  startSql(id: string, name: string, checksum: string): string {
    return `INSERT INTO ${this.table} (id, checksum, started_at, migration_name, applied_steps_count)
VALUES (${quoteLiteral(id)}, ${quoteLiteral(checksum)}, clock_timestamp(), ${quoteLiteral(name)}, 0)`;
  }

  /** SQL that marks a started migration finished; sent inside the script's transaction when there is one. */
  finishSql(id: string): string {
    return `UPDATE ${this.table} SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = ${quoteLiteral(id)}`;
  }

  /** Records the error of a failed migration in `logs`, leaving finished_at NULL (Prisma's failed state). */
  async recordFailure(id: string, logs: string): Promise<void> {
    await this.client.query(`UPDATE ${this.table} SET logs = ${quoteLiteral(logs)} WHERE id = ${quoteLiteral(id)}`);
  }

  /** Removes a "started" row whose script was never sent (a run stopped between two migrations). */
  async forgetUnstarted(id: string): Promise<void> {
    await this.client.query(`DELETE FROM ${this.table} WHERE id = ${quoteLiteral(id)} AND finished_at IS NULL`);
  }

  /** `resolve --rolled-back`: marks the unfinished, not yet rolled back rows of a migration. Returns how many. */
  async markRolledBack(name: string, at: Date): Promise<number> {
    const result = await this.client.query(
      `UPDATE ${this.table} SET rolled_back_at = ${quoteLiteral(at.toISOString())}
       WHERE migration_name = ${quoteLiteral(name)} AND finished_at IS NULL AND rolled_back_at IS NULL`,
    );
    return result.rowCount ?? 0;
  }

  /** `resolve --applied`: a finished row with zero applied steps, as Prisma's markMigrationApplied writes it. */
  async insertResolvedApplied(name: string, checksum: string, at: Date): Promise<string> {
    const id = randomUUID();
    const when = quoteLiteral(at.toISOString());
    await this.client.query(
      `INSERT INTO ${this.table} (id, checksum, started_at, finished_at, migration_name, logs, applied_steps_count)
       VALUES (${quoteLiteral(id)}, ${quoteLiteral(checksum)}, ${when}, ${when}, ${quoteLiteral(name)}, '', 0)`,
    );
    return id;
  }
}
