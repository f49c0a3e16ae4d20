/** Many runners at once: each migration applied exactly once, everyone exits 0, no lock left behind. */
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { testDatabases } from './support/database.js';
import { writeMigrations } from './support/migrations.js';

const newDatabase = testDatabases();

describe('concurrent migrate', () => {
  it('8 processes on an empty database: all exit 0, each migration recorded exactly once', async () => {
    const db = await newDatabase('digilog_conc');
    const migrations = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [
        `2024010100000${i}_step_${i}`,
        // A little work per migration widens the window in which runners overlap.
        `CREATE TABLE t${i} (id serial PRIMARY KEY, v text);\nINSERT INTO t${i} (v) SELECT md5(g::text) FROM generate_series(1, 2000) g;\nCREATE INDEX t${i}_v ON t${i} (v);\n`,
      ]),
    );
    const dir = writeMigrations(migrations);
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(['migrate', '--json', '--migrations-dir', dir], { DATABASE_URL: db.url })));
    expect(runs.map((r) => r.code)).toEqual(Array(8).fill(0));
    const docs = runs.map((r) => JSON.parse(r.stdout));
    const appliedCounts = docs.map((d) => d.applied.length).sort((a, b) => b - a);
    // Whoever took the lock first applied everything; the rest found the database up to date.
    expect(appliedCounts.reduce((a, b) => a + b, 0)).toBe(10);
    expect(docs.filter((d) => d.action === 'up-to-date').length).toBe(8 - docs.filter((d) => d.action === 'applied').length);
    const rows = await db.query<{ migration_name: string; n: number }>(
      `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual(Object.keys(migrations).map((name) => ({ migration_name: name, n: 1 })));
    const counts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM t9`);
    expect(counts).toEqual([{ n: 2000 }]);
    const locks = await db.query(`SELECT * FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(locks).toEqual([]);
  });
});
