/**
 * Checksums as Prisma verifies them, through the built binary: a row Prisma
 * 2.x wrote with unpadded hex (prisma-engines #1887) and a migration.sql that
 * is not UTF-8 (checksummed over its decoded text) are not "edited".
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { testDatabases } from '../support/database.js';
import { scriptWithLeadingZeroNibble } from '../support/checksums.js';
import { addMigration, writeMigrations } from '../support/migrations.js';

const newDatabase = testDatabases();

describe('checksums as Prisma verifies them', () => {
  it('a Prisma 2.x row with an unpadded hex checksum is not edited: status exits 0 and migrate proceeds', async () => {
    const db = await newDatabase();
    const { sql, padded, unpadded } = scriptWithLeadingZeroNibble();
    expect(unpadded.length).toBeLessThan(64);
    const dir = writeMigrations({ '20240101000000_init': sql });
    const env = { DATABASE_URL: db.url };
    const args = ['--migrations-dir', dir];
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    expect((await db.query<{ checksum: string }>('SELECT checksum FROM _prisma_migrations'))[0]!.checksum).toBe(padded);
    await db.query(`UPDATE _prisma_migrations SET checksum = '${unpadded}'`);

    const status = await runCli(['status', ...args], env);
    expect(status.stdout + status.stderr).not.toContain('edited');
    expect(status.code).toBe(0);

    addMigration(dir, '20240102000000_b', 'CREATE TABLE b (id int);\n');
    const migrated = await runCli(['migrate', ...args], env);
    expect(migrated.stderr).not.toContain('Modified after being applied');
    expect(migrated.code).toBe(0);
    expect(await db.query(`SELECT to_regclass('b')::text AS t`)).toEqual([{ t: 'b' }]);
  });

  it('an unpadded checksum of other content is still edited', async () => {
    const db = await newDatabase();
    const { sql, unpadded } = scriptWithLeadingZeroNibble();
    const dir = writeMigrations({ '20240101000000_init': sql });
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    await db.query(`UPDATE _prisma_migrations SET checksum = '${unpadded.slice(1)}0'`);
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(EXIT_CODES['history-mismatch']);
  });

  it('a Latin-1 migration.sql is checksummed over its UTF-8-decoded text, as Prisma does', async () => {
    const db = await newDatabase();
    const dir = writeMigrations({});
    mkdirSync(join(dir, '20240101000000_latin1'));
    const bytes = Buffer.from('-- caf\xe9 cr\xe8me\nCREATE TABLE a (id int);\n', 'latin1');
    writeFileSync(join(dir, '20240101000000_latin1', 'migration.sql'), bytes);
    const env = { DATABASE_URL: db.url };
    expect((await runCli(['migrate', '--migrations-dir', dir], env)).code).toBe(0);
    // Prisma's CLI reads the file with fs.readFile(…, 'utf-8') (each invalid byte becomes U+FFFD) and the engine hashes that text.
    const prisma = createHash('sha256').update(bytes.toString('utf8')).digest('hex');
    expect(prisma).not.toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await db.query('SELECT checksum FROM _prisma_migrations')).toEqual([{ checksum: prisma }]);
    expect((await runCli(['status', '--migrations-dir', dir], env)).code).toBe(0);
  });
});
