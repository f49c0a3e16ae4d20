/**
 * One schema-engine command for the CLI: the engine session of
 * load-schema-engine.ts, plus what a terminal command needs on top: it waits
 * for Prisma's migration lock before the engine reads anything, Ctrl-C
 * (SIGINT/SIGTERM) drops the shadow databases and ends the command with its
 * signal's exit code through the entry point (so exit hooks run too), and
 * engine failures become typed, redacted errors.
 */
import { readFileSync } from 'node:fs';
import type { LockOptions } from '../db/lock.js';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { createEngineAdapterFactory, type EngineAdapterFactory } from './adapter-factory.js';
import { withSchemaEngine, type EngineApi } from './load-schema-engine.js';

export interface EngineOptions {
  databaseUrl: string;
  shadowDatabaseUrl: string | undefined;
  schemaPath: string;
  /**
   * Wait for (and hold) Prisma's migration lock before the engine reads the database, as
   * `migrate` does: a migration running meanwhile would otherwise look failed or half-applied.
   */
  migrationLock?: LockOptions | undefined;
  /** The run's stop signal (its reason: the signal's name): the shadow databases are dropped and the command ends with 130/143. */
  signal?: AbortSignal | undefined;
}

export const NO_FILTERS = { externalTables: [] as string[], externalEnums: [] as string[] };

/** After a signal and the clean-up, how long the engine gets to notice its sessions are gone before the command ends anyway. */
const STOP_GRACE_MS = 5_000;

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

/**
 * Creates the adapter factory, takes the migration lock when asked, runs `run`, and always
 * closes the factory. When the run's signal aborts (SIGINT, SIGTERM, SIGHUP) the factory is closed at once (which drops the shadow
 * databases and ends the engine's sessions, so its call fails fast) and the command throws
 * `sigint`/`sigterm` (exit 130/143) instead of whatever the interrupted engine reported.
 */
export async function withEngineSignals<T>(
  options: Pick<EngineOptions, 'databaseUrl' | 'shadowDatabaseUrl' | 'migrationLock' | 'signal'> & { keepShadows?: boolean },
  run: (adapters: EngineAdapterFactory) => Promise<T>,
): Promise<T> {
  const adapters = await createEngineAdapterFactory({ connectionString: options.databaseUrl, shadowDatabaseUrl: options.shadowDatabaseUrl, keepShadows: options.keepShadows });
  let signalled: NodeJS.Signals | undefined;
  let stopped: Promise<void> = Promise.resolve();
  let grace: NodeJS.Timeout | undefined;
  let onStopped: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (onStopped = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return; // the first signal decides the exit code; its clean-up is already under way
    signalled = signal;
    stopped = adapters
      .close()
      .catch(() => {})
      .then(() => void (grace = setTimeout(onStopped, STOP_GRACE_MS)));
  };
  // The run installs the handlers (commands/run.ts): a second Ctrl-C ends the process at once, and the next run drops what it left.
  const onAbort = () => onSignal(typeof options.signal?.reason === 'string' ? (options.signal.reason as NodeJS.Signals) : 'SIGINT');
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const work = (async () => {
      if (options.migrationLock) await adapters.lockMigrations(options.migrationLock);
      return run(adapters);
    })();
    work.catch(() => {}); // settled after the grace below: not an unhandled rejection
    // The engine may never notice (a call that does not touch the database): the grace bounds the wait.
    const result = await Promise.race([work, interrupted.then(() => undefined as T)]);
    if (signalled) throw interruptedBy(signalled);
    return result;
  } catch (error) {
    if (signalled) throw interruptedBy(signalled, error);
    if (error instanceof DigilogError) throw error;
    throw new DigilogError('internal', `Prisma schema engine: ${redact(String((error as Error)?.message ?? error))}`, {
      hint: 'Check prisma/schema.prisma and the migrations folder.',
    });
  } finally {
    // Idempotent, and after a signal it is already under way: wait for it, so the shadow databases are gone before the exit.
    await stopped;
    clearTimeout(grace);
    await adapters.close().catch(() => {});
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function interruptedBy(signal: NodeJS.Signals, cause?: unknown): DigilogError {
  return new DigilogError(signal === 'SIGTERM' ? 'sigterm' : 'sigint', `Stopped by ${signal}; its temporary shadow databases were dropped`, {
    hint: 'Run the command again. A migration it had already applied stays applied (see `digilog-db status`).',
    details: { signal },
    cause,
  });
}
