/**
 * One schema-engine command for the CLI: the engine session of
 * load-schema-engine.ts, plus what a terminal command needs on top: Ctrl-C
 * (SIGINT/SIGTERM) drops the shadow databases before the process ends, and
 * engine failures become typed, redacted errors.
 */
import { readFileSync } from 'node:fs';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { createEngineAdapterFactory, type EngineAdapterFactory } from './adapter-factory.js';
import { withSchemaEngine, type EngineApi } from './load-schema-engine.js';

export interface EngineOptions {
  databaseUrl: string;
  shadowDatabaseUrl: string | undefined;
  schemaPath: string;
}

export const NO_FILTERS = { externalTables: [] as string[], externalEnums: [] as string[] };

/** The schema as the engine's SchemasContainer. */
export function schemaContainer(options: EngineOptions): { files: Array<{ path: string; content: string }> } {
  return { files: [{ path: options.schemaPath, content: readFileSync(options.schemaPath, 'utf8') }] };
}

/** Runs `use` on a fresh engine; on Ctrl-C or SIGTERM the shadow databases are dropped first. */
export async function withEngine<T>(options: EngineOptions, use: (engine: EngineApi) => Promise<T>): Promise<T> {
  return withEngineSignals(options, (adapters) =>
    withSchemaEngine({ schemaPath: options.schemaPath, schemaText: schemaContainer(options).files[0]!.content, adapters }, use),
  );
}

/** Creates the adapter factory, closes it on SIGINT/SIGTERM, and maps engine errors. */
export async function withEngineSignals<T>(
  options: Pick<EngineOptions, 'databaseUrl' | 'shadowDatabaseUrl'>,
  run: (adapters: EngineAdapterFactory) => Promise<T>,
): Promise<T> {
  const adapters = await createEngineAdapterFactory({ connectionString: options.databaseUrl, shadowDatabaseUrl: options.shadowDatabaseUrl });
  const onSignal = (signal: NodeJS.Signals) => {
    void adapters.close().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A closed terminal or ssh session (SIGHUP) would otherwise leave the shadow databases behind.
  process.once('SIGHUP', onSignal);
  try {
    return await run(adapters);
  } catch (error) {
    if (error instanceof DigilogError) throw error;
    throw new DigilogError('internal', `Prisma schema engine: ${redact(String((error as Error)?.message ?? error))}`, {
      hint: 'Check prisma/schema.prisma and the migrations folder.',
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGHUP', onSignal);
  }
}
