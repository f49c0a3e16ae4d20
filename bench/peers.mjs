// The peers P1/P2 are measured against, beside the psql floor: dbmate 2.36 (a Go binary from npm, one
// transaction per file plus its version row) and Prisma's own schema engine (its WebAssembly build's
// applyMigrations, i.e. `prisma migrate deploy`, driven through digilog-db's adapter because the stock
// one splits scripts on `;`: see ../shared/NOTES-prisma.md). Their inputs are generated here from the
// Prisma migrations folder, never stored.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, migrationFolders } from './lib.mjs';

/**
 * dbmate's Go binary itself, from the platform package the npm package depends on (its `dbmate` bin is a Node
 * wrapper that would add a Node start to every run).
 */
export function dbmateBinary() {
  const fromDbmate = createRequire(createRequire(join(ROOT, 'package.json')).resolve('dbmate/package.json'));
  return join(dirname(fromDbmate.resolve(`@dbmate/${process.platform}-${process.arch}/package.json`)), 'bin', 'dbmate');
}

/**
 * The history as dbmate files: `<folder>.sql` with `-- migrate:up`; a file with a statement that cannot run in a
 * transaction is marked `transaction:false`, as its author would. dbmate takes the leading digits as the version,
 * so a history with two folders of one timestamp (papermark) cannot be expressed: returns null.
 */
export function dbmateMigrations(migrationsDir) {
  const dir = mkdtempSync(join(tmpdir(), 'digilog-dbmate-'));
  const versions = new Set();
  for (const name of migrationFolders(migrationsDir)) {
    const version = /^\d+/.exec(name)?.[0];
    if (!version || versions.has(version)) return null;
    versions.add(version);
    const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
    const noTransaction = /\bconcurrently\b/i.test(sql) ? ' transaction:false' : '';
    writeFileSync(join(dir, `${name}.sql`), `-- migrate:up${noTransaction}\n${sql}\n\n-- migrate:down\n`);
  }
  return dir;
}

/** dbmate's arguments for one run on a database URL. */
export function dbmateArgs(url, dir) {
  const withSsl = new URL(url);
  withSsl.searchParams.set('sslmode', 'disable');
  return ['--url', withSsl.toString(), '--migrations-dir', dir, '--no-dump-schema', 'up'];
}

/** The script that applies a folder with Prisma's schema engine in a process of its own. */
export const PRISMA_ENGINE_APPLY = fileURLToPath(new URL('./prisma-engine-apply.mjs', import.meta.url));

/** A schema file for the engine (it needs one to start; applyMigrations reads only the folder). */
export function engineSchema() {
  const dir = mkdtempSync(join(tmpdir(), 'digilog-engine-schema-'));
  mkdirSync(join(dir, 'prisma'));
  const path = join(dir, 'prisma', 'schema.prisma');
  writeFileSync(path, 'datasource db {\n  provider = "postgresql"\n}\n');
  return path;
}
