/**
 * First boot of many replicas on a database that does not exist yet: each
 * runner tries CREATE DATABASE; two committing together make PostgreSQL raise
 * 23505 (unique violation on pg_database) instead of 42P04. Both mean "someone
 * else created it", so every runner goes on and exits 0.
 */
import { describe, expect, it } from 'vitest';
import { runTogether } from '../support/cli.js';
import { countLostOrDoubled } from '../support/counting.js';
import { testDatabases } from '../support/database.js';
import { writeMigrations } from '../support/migrations.js';

const newDatabase = testDatabases();

describe('concurrent first boot on a database that does not exist', () => {
  it('10 migrate processes at once, 2 rounds on fresh names: all exit 0, each migration applied once', async () => {
    const dir = writeMigrations({ '20240101000000_init': 'CREATE TABLE a (id int);\n', '20240102000000_b': 'CREATE TABLE b (id int);\n' });
    for (let round = 0; round < 2; round++) {
      const db = await newDatabase('digilog_boot', { create: false });
      const { runs } = await runTogether(10, ['migrate', '--migrations-dir', dir], { DATABASE_URL: db.url, DIGILOG_LOCK_WAIT_MS: '50000' });
      expect(runs.filter((r) => r.code !== 0).map((r) => r.stderr.trim())).toEqual([]);
      expect(await countLostOrDoubled(db.query, ['20240101000000_init', '20240102000000_b'])).toBe(0);
    }
  }, 180_000);
});
