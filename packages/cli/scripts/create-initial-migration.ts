/**
 * Generates the project's initial migration with Prisma's schema engine
 * (WASM), on a throw-away database that is dropped afterwards:
 *
 *   cd packages/cli && npx tsx scripts/create-initial-migration.ts \
 *     [--schema ../../prisma/schema.prisma] [--migrations-dir ../../prisma/migrations] \
 *     [--name init] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--shadow-database-url <url>]
 *
 * The SQL always comes from the engine. When the folder already holds
 * migrations nothing is written there: the script only checks, on a copy,
 * that the schema and the history agree (exit 0) or not (exit 1).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createMigrationFromSchema } from '../src/engine/create-migration.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values: args } = parseArgs({
  options: {
    schema: { type: 'string', default: join(repoRoot, 'prisma', 'schema.prisma') },
    'migrations-dir': { type: 'string' },
    name: { type: 'string', default: 'init' },
    'admin-url': { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/postgres' },
    'shadow-database-url': { type: 'string' },
  },
});
const schemaPath = resolve(args.schema);
const migrationsDir = resolve(args['migrations-dir'] ?? join(dirname(schemaPath), 'migrations'));

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: args['admin-url'] });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function hasMigrations(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir, { withFileTypes: true }).some((entry) => entry.isDirectory());
}

const database = `digilog_initmig_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
const url = new URL(args['admin-url']);
url.pathname = `/${database}`;
// Only the check mode works on a copy, so the real folder is never touched there.
const existing = hasMigrations(migrationsDir);
const workDir = existing ? join(mkdtempSync(join(tmpdir(), 'digilog-initmig-')), 'migrations') : migrationsDir;
if (existing) cpSync(migrationsDir, workDir, { recursive: true });

let exitCode = 0;
const started = performance.now();
await admin(`CREATE DATABASE "${database}"`);
try {
  const { migration: created } = await createMigrationFromSchema({
    connectionString: url.toString(),
    schemaPath,
    migrationsDir: workDir,
    name: args.name,
    shadowDatabaseUrl: args['shadow-database-url'],
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (existing) {
    if (created) {
      exitCode = 1;
      process.stderr.write(`${migrationsDir} already has migrations, and the schema has changes they do not contain (${seconds} s):\n\n${created.sql}\n`);
      process.stderr.write('Create a regular migration for them (digilog-db dev --name <name>) instead of an initial one.\n');
    } else {
      process.stderr.write(`${migrationsDir} already has migrations and they match ${schemaPath}; nothing to do (${seconds} s).\n`);
    }
  } else if (created) {
    process.stderr.write(`Created ${created.path} (${seconds} s)\n`);
    process.stdout.write(created.sql);
  } else {
    process.stderr.write(`The schema describes no database objects; no migration written (${seconds} s).\n`);
  }
} finally {
  await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  if (existing) rmSync(dirname(workDir), { recursive: true, force: true });
}
process.exitCode = exitCode;
