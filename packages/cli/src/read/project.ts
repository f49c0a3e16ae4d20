/**
 * Where the project's schema and migrations live: explicit options, else
 * `prisma/schema.prisma` searched upwards (the folder itself is read by
 * migrations-folder.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
