/**
 * The schema engine's part of `rollback`:
 *  1. schema.prisma must match the database (where every migration is applied): a schema with
 *     changes no migration holds yet would be overwritten (describing the live database only);
 *  2. each run of undone migrations without a committed down.sql costs one diff over the history
 *     (engine `diff`, from the history up to the run's end, replayed in a shadow database, to the
 *     history up to its start);
 *  3. the shadow database that holds the history up to the target gives what the engine does not
 *     manage (functions, triggers, …: db/schema-objects.ts), and schema.prisma at the target,
 *     introspected starting from the current file, so its generator and datasource blocks, and the
 *     names Prisma keeps on re-introspection (@map, @@map, relation names, @default(cuid()),
 *     @updatedAt), stay.
 * With temporary shadow databases, the history up to the target is replayed once, by digilog-db
 * (replay-history.ts), from the start and beside the engine's work: the diff that ends at the
 * target describes that database (a second engine, `schemaDatasource`) while the engine replays
 * the other side, and 1–3 run at the same time (engines are independent instances of one WASM
 * module; their work is mostly waiting for PostgreSQL). A dedicated shadow database
 * (SHADOW_DATABASE_URL) holds one history at a time: there the engine replays both sides of each
 * diff in it, one after the other, and the target's history is the last it holds, as Prisma
 * leaves a shadow database it was given.
 */
import { dirname } from 'node:path';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import type { DownCatalogs } from '../plan/down-steps.js';
import { readConstraintIndexes, readSchemaObjects } from '../db/schema-objects.js';
import { clientConfig, parseTarget } from '../config/target.js';
import type { DownSegment, RollbackSelection } from '../plan/rollback-plan.js';
import { DigilogError } from '../errors.js';
import { pull } from './introspect.js';
import { diffHistory, engineSchema, historyPrefix, readDownFile, runnableDiff } from './down-script.js';
import { engineOnReplay, replayHistory, type Replay } from './replay-history.js';
import { withSchemaEngine, type EngineApi } from './load-schema-engine.js';
import type { EngineAdapterFactory } from './adapter-factory.js';
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
  const engineFile = engineSchema(options.schemaPath, options.migrationsDir);
  return withEngineSignals({ ...options, keepShadows: true }, async (adapters) => {
    if (options.shadowDatabaseUrl) return withSchemaEngine({ ...engineFile, adapters }, (engine) => inOneShadow(options, engine, adapters, list, engineFile));
    // Started before the engine is even loaded: nothing here needs it.
    const atTarget = replayHistory(adapters, options.databaseUrl, historyPrefix(list, options.selection.targetCount));
    atTarget.complete.catch(() => {}); // awaited below; a failure meanwhile is not unhandled
    // The shadow database the engine replays the applied end in, created beside the one above instead of after it.
    if (options.segments.some((s) => s.source === 'computed' && s.before === options.selection.targetCount)) adapters.reserveShadow();
    return withSchemaEngine({ ...engineFile, adapters }, async (engine) => {
      const checking = options.schemaPath ? checkSchema(engine, options.schemaPath, engineFile.schemaText) : Promise.resolve();
      const work = [
        checking,
        computeParts(options, (segment) =>
          segment.before === options.selection.targetCount
            ? diffToReplay(adapters, engineFile, historyPrefix(list, segment.after), atTarget)
            : // One call at a time on one engine instance: after the check.
              checking.then(() => diffHistory(engine, adapters, list, segment.after, segment.before)),
        ),
        atTarget.complete.then((url) => describeTarget(url, options.schemaPath)),
      ] as const;
      // Every part settles before the factory closes (its shadow databases are in use until then); the schema check's verdict comes first.
      const [checked, parts, described] = await Promise.allSettled(work);
      for (const outcome of [checked, parts, described]) if (outcome.status === 'rejected') throw outcome.reason;
      return { parts: (parts as PromiseFulfilledResult<string[]>).value, ...(described as PromiseFulfilledResult<Described>).value };
    });
  });
}

/** The SHADOW_DATABASE_URL way: one engine, one shadow database, one step after the other. */
async function inOneShadow(options: RollbackScriptOptions, engine: EngineApi, adapters: EngineAdapterFactory, list: MigrationList, engineFile: EngineFile): Promise<RollbackScript> {
  const { targetCount } = options.selection;
  if (options.schemaPath) await checkSchema(engine, options.schemaPath, engineFile.schemaText);
  const parts = await computeParts(options, (segment) => diffHistory(engine, adapters, list, segment.after, segment.before));
  // The engine replays the `to` side of a diff last: when the oldest run is computed, the shadow holds the target already.
  const last = options.segments.at(-1);
  if (last?.source !== 'computed' || last.before !== targetCount) {
    await engine.diff({ from: { tag: 'migrations', ...historyPrefix(list, targetCount) }, to: { tag: 'empty' }, script: false, exitCode: null, filters: NO_FILTERS });
  }
  return { parts, ...(await describeTarget(adapters.lastShadowUrl()!, options.schemaPath)) };
}

/** The down SQL of each segment, newest first: committed ones read, computed ones by `compute`, one after the other. */
async function computeParts(options: RollbackScriptOptions, compute: (segment: DownSegment) => Promise<string>): Promise<string[]> {
  const parts: string[] = [];
  for (const segment of options.segments) parts.push(segment.source === 'committed' ? readDownFile(options.migrationsDir, segment.migrations[0]!)! : await compute(segment));
  return parts;
}

/** Throws `usage` when schema.prisma differs from the live database (where every migration is applied). */
async function checkSchema(engine: EngineApi, schemaPath: string, schemaText: string): Promise<void> {
  const files = [{ path: schemaPath, content: schemaText }];
  const drift = await engine.diff({ from: { tag: 'schemaDatasource', files, configDir: dirname(schemaPath) }, to: { tag: 'schemaDatamodel', files }, script: true, exitCode: true, filters: NO_FILTERS });
  if (drift.exitCode === 2) throw dirtySchema(schemaPath, (drift.stdout ?? '').trim());
}

type Described = Omit<RollbackScript, 'parts'>;

/** The catalogs of the database at the target, and schema.prisma introspected from it (none without a schema file). */
async function describeTarget(url: string, schemaPath: string | undefined): Promise<Described> {
  const target = await readCatalogs(url);
  if (!schemaPath) return { schema: null, warnings: [], target };
  const pulled = await pull({ databaseUrl: url, shadowDatabaseUrl: undefined, schemaPath });
  return { schema: pulled.schema, warnings: pulled.warnings, target };
}

type EngineFile = { schemaPath: string; schemaText: string };

/**
 * The SQL from the schema of a history (replayed by the engine) to that of the replayed database
 * (described by the same describer, as a `schemaDatasource`: a second engine, whose main
 * connection goes there). A replay that failed gives its own error, not the engine's.
 */
async function diffToReplay(adapters: EngineAdapterFactory, engineFile: EngineFile, from: MigrationList, replay: Replay): Promise<string> {
  const files = [{ path: engineFile.schemaPath, content: engineFile.schemaText }];
  const to = { tag: 'schemaDatasource' as const, files, configDir: dirname(engineFile.schemaPath) };
  const second = engineOnReplay(adapters, replay);
  return withSchemaEngine({ ...engineFile, adapters: second.adapters }, (engine) => {
    second.hold(); // the engine has connected and checked its connection; what it describes there must be complete
    return runnableDiff(engine, { tag: 'migrations', ...from }, to, () => replay.complete);
  }).catch(async (error: unknown) => {
    await replay.complete;
    throw error;
  });
}

function dirtySchema(schemaPath: string, sql: string): DigilogError {
  const first = sql.split('\n').find((line) => line.trim() && !line.startsWith('--'));
  return new DigilogError('usage', `${schemaPath} differs from the applied migrations (${first ? `e.g. ${first.trim()}` : 'see `digilog-db diff --from-database`'}): a rollback would overwrite that change`, {
    hint: 'Create a migration for it first (`digilog-db dev --name <name>`) or discard it (`git checkout -- prisma/schema.prisma`); if the database itself was changed by hand, see `digilog-db diff --from-database`.',
    details: { schemaPath, sql },
  });
}
