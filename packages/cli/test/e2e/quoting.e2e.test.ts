/**
 * SQL quoting is pg's (escapeIdentifier / escapeLiteral), which is right also
 * where a literal meets `standard_conforming_strings = off` (legacy servers,
 * some poolers): a backslash in the schema name must not become an escape.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';

const newDatabase = testDatabases();

describe('quoting through pg', () => {
  it("a schema named with a backslash and a quote migrates and reads back with standard_conforming_strings off", async () => {
    const db = await newDatabase('digilog_quote');
    await db.query(`ALTER DATABASE "${db.name}" SET standard_conforming_strings = off`);
    const schema = "tenant\\bo'ne";
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n' });
    const env = { DATABASE_URL: `${db.url}?schema=${encodeURIComponent(schema)}` };
    const migrated = await runCli(['migrate', '--migrations-dir', dir], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    const rows = await db.query<{ nspname: string }>(`SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = '_prisma_migrations'`);
    expect(rows).toEqual([{ nspname: schema }]);
    const status = await runCli(['status', '--migrations-dir', dir], env);
    expect(status.code, status.stdout + status.stderr).toBe(0);
  });
});
