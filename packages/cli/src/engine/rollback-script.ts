/**
 * The schema engine's part of `rollback`, on one engine session:
 *  1. schema.prisma must match the database (where every migration is applied): a schema with
 *     changes no migration holds yet would be overwritten (describing the live database only);
 *  2. each run of undone migrations without a committed down.sql costs one diff over the history
 *     (engine `diff`, migrations → migrations, both replayed in shadow databases);
 *  3. the shadow database that holds the history up to the target (the last one the diffs
 *     replayed, or one replayed for it) gives what the engine does not manage (functions,
 *     triggers, …: db/schema-objects.ts), and schema.prisma at the target, introspected starting
 *     from the current file, so its generator and datasource blocks, and the names Prisma keeps
 *     on re-introspection (@map, @@map, relation names, @default(cuid()), @updatedAt), stay.
 */
import { dirname } from 'node:path';
import pg from 'pg';
import type { DownCatalogs } from '../plan/down-steps.js';
import { readConstraintIndexes, readSchemaObjects } from '../db/schema-objects.js';
import { clientConfig, parseTarget } from '../config/target.js';
import type { DownSegment, RollbackSelection } from '../plan/rollback-plan.js';
import { DigilogError } from '../errors.js';
import { pull } from '../develop/pull.js';
import { diffHistory, engineSchema, historyPrefix, readDownFile } from './down-script.js';
import { withSchemaEngine } from './load-schema-engine.js';
import { migrationsList } from '../read/engine-input.js';
import { NO_FILTERS, withEngineSignals } from './with-engine.js';

/** Input of computeRollbackScript. */
export interface RollbackScriptOptions {
  /** The live database: only described, for the schema.prisma check. */
  databaseUrl: string;
  shadowDatabaseUrl: string | undefined;
  migrationsDir: string;
  /** Without a schema file there is nothing to check or set back. */
  schemaPath: string | undefined;
  selection: RollbackSelection;
  segments: readonly DownSegment[];
  /** The run's stop signal: the shadow databases are dropped and the command ends with 130/143. */
  signal?: AbortSignal | undefined;
}

/** The down SQL of each segment (newest first, as they run) and schema.prisma at the target. */
export interface RollbackScript {
  parts: string[];
  /** schema.prisma as it is at the target (null without a schema file). */
  schema: string | null;
  /** What introspection warned about (constraints Prisma cannot express, …). */
  warnings: string[];
  /** The catalog of the shadow database at the target: what the engine does not manage. */
  target: DownCatalogs['target'];
}

/** What the engine does not manage, read from a database (the shadow at the target). */
async function readCatalogs(url: string): Promise<DownCatalogs['target']> {
  const target = parseTarget(url);
  const client = new pg.Client(clientConfig(target, { applicationName: 'digilog-db (rollback target)' }));
  await client.connect();
  try {
    return { objects: await readSchemaObjects(client), constraints: await readConstraintIndexes(client, target.schema) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Computes the down SQL and the target's schema; throws `usage` when schema.prisma has changes no migration holds. */
export async function computeRollbackScript(options: RollbackScriptOptions): Promise<RollbackScript> {
  const list = migrationsList(options.migrationsDir);
  const { schemaPath, schemaText } = engineSchema(options.schemaPath, options.migrationsDir);
  const files = [{ path: schemaPath, content: schemaText }];
  const { targetCount } = options.selection;
  return withEngineSignals({ ...options, keepShadows: true }, (adapters) =>
    withSchemaEngine({ schemaPath, schemaText, adapters }, async (engine) => {
      if (options.schemaPath) {
        const drift = await engine.diff({
          from: { tag: 'schemaDatasource', files, configDir: dirname(schemaPath) },
          to: { tag: 'schemaDatamodel', files },
          script: true,
          exitCode: true,
          filters: NO_FILTERS,
        });
        if (drift.exitCode === 2) throw dirtySchema(options.schemaPath, (drift.stdout ?? '').trim());
      }
      const parts: string[] = [];
      // Newest first: the last diff replays the history up to the target when the oldest run is computed.
      let atTarget = false;
      for (const segment of options.segments) {
        if (segment.source === 'committed') parts.push(readDownFile(options.migrationsDir, segment.migrations[0]!)!);
        else parts.push(await diffHistory(engine, adapters, list, segment.after, segment.before));
        atTarget = segment.source === 'computed' && segment.before === targetCount;
      }
      if (!atTarget) {
        await engine.diff({ from: { tag: 'migrations', ...historyPrefix(list, targetCount) }, to: { tag: 'empty' }, script: false, exitCode: null, filters: NO_FILTERS });
      }
      const shadowUrl = adapters.lastShadowUrl()!;
      const target = await readCatalogs(shadowUrl);
      if (!options.schemaPath) return { parts, schema: null, warnings: [], target };
      const pulled = await pull({ databaseUrl: shadowUrl, shadowDatabaseUrl: undefined, schemaPath: options.schemaPath });
      return { parts, schema: pulled.schema, warnings: pulled.warnings, target };
    }),
  );
}

function dirtySchema(schemaPath: string, sql: string): DigilogError {
  const first = sql.split('\n').find((line) => line.trim() && !line.startsWith('--'));
  return new DigilogError('usage', `${schemaPath} differs from the applied migrations (${first ? `e.g. ${first.trim()}` : 'see `digilog-db diff --from-database`'}): a rollback would overwrite that change`, {
    hint: 'Create a migration for it first (`digilog-db dev --name <name>`) or discard it (`git checkout -- prisma/schema.prisma`); if the database itself was changed by hand, see `digilog-db diff --from-database`.',
    details: { schemaPath, sql },
  });
}
