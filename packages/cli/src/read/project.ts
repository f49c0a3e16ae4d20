/**
 * Where the project's schema and migrations live, and reading the migrations
 * folder exactly as Prisma does (sub-folders in byte order, each with a
 * migration.sql; migration_lock.toml names the provider).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { renderChecksum, scriptText } from './checksum.js';
import { compareNames } from '../status/diagnose.js';
import type { LocalMigration } from './types.js';
import { DigilogError } from '../errors.js';

export interface ProjectPaths {
  /** prisma/schema.prisma, or undefined when only a migrations folder was given. */
  schemaPath: string | undefined;
  migrationsDir: string;
}

export interface PathOptions {
  schema?: string | undefined;
  migrationsDir?: string | undefined;
  cwd?: string;
}

/**
 * Resolves the schema and migrations folder: explicit options win; otherwise
 * `prisma/schema.prisma` is searched from the working directory upwards, so
 * the CLI works from the repository root and from any package inside it.
 */
export function resolveProjectPaths(options: PathOptions = {}): ProjectPaths {
  const cwd = options.cwd ?? process.cwd();
  if (options.migrationsDir && !options.schema) {
    // A migrations folder given on its own belongs to the schema beside it, if any (Prisma's layout).
    const migrationsDir = resolve(cwd, options.migrationsDir);
    const sibling = join(dirname(migrationsDir), 'schema.prisma');
    return { schemaPath: existsSync(sibling) ? sibling : undefined, migrationsDir };
  }
  const schemaPath = options.schema ? resolve(cwd, options.schema) : findUpwards(cwd, join('prisma', 'schema.prisma'));
  if (options.schema && !existsSync(schemaPath!)) {
    throw new DigilogError('usage', `Schema file not found: ${schemaPath}`, { hint: 'Pass --schema <path/to/schema.prisma>.' });
  }
  if (options.migrationsDir) return { schemaPath, migrationsDir: resolve(cwd, options.migrationsDir) };
  if (!schemaPath) {
    throw new DigilogError('usage', `No prisma/schema.prisma found in ${cwd} or any parent folder`, {
      hint: 'Run digilog-db inside the project, or pass --schema or --migrations-dir.',
    });
  }
  return { schemaPath, migrationsDir: join(dirname(schemaPath), 'migrations') };
}

function findUpwards(from: string, relative: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

const LOCK_FILE = 'migration_lock.toml';
const SUPPORTED_PROVIDER = 'postgresql';

/** Reads every migration of the folder, in Prisma's order. Throws a usage error for a missing folder or file. */
export function readMigrations(migrationsDir: string): LocalMigration[] {
  if (!existsSync(migrationsDir) || !statSync(migrationsDir).isDirectory()) {
    throw new DigilogError('usage', `Migrations folder not found: ${migrationsDir}`, {
      hint: 'Create your first migration with `digilog-db dev --name init`, or pass --migrations-dir.',
      details: { migrationsDir },
    });
  }
  checkLockFileProvider(migrationsDir);
  const names = readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort(compareNames);
  return names.map((name) => {
    const path = join(migrationsDir, name, 'migration.sql');
    if (!existsSync(path)) {
      throw new DigilogError('usage', `Migration folder ${name} has no migration.sql`, {
        prismaCode: 'P3015',
        hint: `Add ${path} or remove the folder.`,
        details: { migration: name },
      });
    }
    // Checksummed over the decoded text, as Prisma does (read/checksum.ts).
    const sql = scriptText(readFileSync(path));
    return { name, path, sql, checksum: renderChecksum(sql) };
  });
}

/** Refuses a migrations folder that was created for another database provider (Prisma's P3019). */
export function checkLockFileProvider(migrationsDir: string): void {
  const lockPath = join(migrationsDir, LOCK_FILE);
  if (!existsSync(lockPath)) return;
  const match = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(lockPath, 'utf8'));
  const provider = match?.[1];
  if (provider !== undefined && provider !== SUPPORTED_PROVIDER && provider !== 'postgres') {
    throw new DigilogError('config', `The migrations in ${migrationsDir} were created for provider "${provider}", but digilog-db manages "${SUPPORTED_PROVIDER}"`, {
      prismaCode: 'P3019',
      hint: `Use a migrations folder made for PostgreSQL, or fix ${LOCK_FILE}.`,
      details: { provider, expected: SUPPORTED_PROVIDER },
    });
  }
}
