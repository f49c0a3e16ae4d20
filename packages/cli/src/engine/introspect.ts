/**
 * `pull`: like `prisma db pull`. The engine introspects the live database
 * (through the migration-aware adapter, which reads the "char" catalogue
 * columns the stock adapter cannot) and returns the schema with models for
 * what it found, keeping the datasource and generator blocks of the file.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DigilogError } from '../errors.js';
import { withEngine, type EngineOptions } from './with-engine.js';

export interface PullResult {
  /** The introspected schema.prisma text. */
  schema: string;
  /** Models found in the database (excluding Prisma's migrations table). */
  models: string[];
  /** Whether the text differs from the file on disk. */
  changed: boolean;
  warnings: string[];
}

/** Introspects the database; never writes (the command decides). Throws `usage` on an empty database (Prisma's P4001). */
export async function pull(options: EngineOptions): Promise<PullResult> {
  const current = readFileSync(options.schemaPath, 'utf8');
  const input = {
    schema: { files: [{ path: options.schemaPath, content: current }] },
    baseDirectoryPath: dirname(options.schemaPath),
    force: false,
    compositeTypeDepth: -1,
    namespaces: null,
  };
  const emptyDatabase = () =>
    new DigilogError('usage', 'The database has no tables to introspect', {
      prismaCode: 'P4001',
      hint: 'Apply the migrations first (`digilog-db migrate`), or check DATABASE_URL and its ?schema=.',
    });
  const result = await withEngine(options, (engine) => engine.introspect(input)).catch((error: unknown) => {
    // The engine reports an empty database as a plain error (Prisma's CLI turns it into P4001).
    throw /introspected database was empty/i.test(String((error as Error)?.message)) ? emptyDatabase() : error;
  });
  const schema = result.schema.files[0]?.content ?? '';
  const models = [...schema.matchAll(/^model\s+(\w+)\s*\{/gm)].map((m) => m[1]!);
  if (models.length === 0) throw emptyDatabase();
  const warnings = (result as { warnings?: unknown }).warnings;
  return { schema, models, changed: schema !== current, warnings: typeof warnings === 'string' && warnings ? [warnings] : [] };
}
