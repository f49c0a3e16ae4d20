/**
 * The embedded default: when DATABASE_URL is unset (and never in production),
 * digilog-db and the API run on PGlite (PostgreSQL compiled to WebAssembly),
 * persisted under `.digilog/`, served to node-postgres on a loopback port by
 * pglite-socket. A second persisted instance serves as the shadow database of
 * `dev`/`diff` (PGlite has one database per instance; its schema is emptied
 * before each use). Both must be stopped: they keep the event loop alive. The
 * folder has one owner at a time (owner-lock.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DigilogError } from '../errors.js';
import { withBaselineWasmCompiler } from '../wasm-compiler.js';
import { acquireOwnerLock } from './owner-lock.js';

export interface EmbeddedDatabase {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Only when started with a shadow instance. */
  shadowUrl: string | undefined;
  dataDir: string;
  stop(): Promise<void>;
}

interface Served {
  url: string;
  stop(): Promise<void>;
}

async function serve(dataDir: string): Promise<Served> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  mkdirSync(dataDir, { recursive: true });
  // Liftoff only (see wasm-compiler.ts): TurboFan's background compile of PGlite took CPU from
  // the API's start-up and, on a settings-sized workload, was not repaid by faster queries.
  const db = await withBaselineWasmCompiler(() => PGlite.create(dataDir)).catch((error: unknown) => {
    throw damaged(dataDir, error);
  });
  // Several client connections share the one instance; queries are queued.
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 64 });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres`,
    stop: async () => {
      await server.stop().catch(() => {});
      await db.close().catch(() => {});
    },
  };
}

/** Starts the embedded database (and optionally its shadow) under `dir` (e.g. `<project>/.digilog`). */
export async function startEmbeddedDatabase(dir: string, { shadow: withShadow = false } = {}): Promise<EmbeddedDatabase> {
  const dataDir = join(dir, 'pgdata');
  // Before any file of the folder is opened: a second PostgreSQL on the same files corrupts them.
  const owner = acquireOwnerLock(dir);
  const started = await Promise.allSettled([serve(dataDir), withShadow ? serve(join(dir, 'shadow')) : Promise.resolve(undefined)]);
  const [main, shadow] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  const stop = async () => {
    await Promise.all([main?.stop(), shadow?.stop()]);
    owner.release();
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  return { url: main!.url, shadowUrl: shadow?.url, dataDir, stop };
}

/**
 * PGlite reports a damaged data folder (e.g. an empty global/pg_control) as emscripten's
 * "Aborted(). Build with -sASSERTIONS for more info.", which tells the user nothing.
 */
function damaged(dataDir: string, error: unknown): DigilogError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DigilogError('unreachable', `The embedded database in ${dataDir} could not be opened: its files are damaged or not a PGlite data folder (${reason.split('\n')[0]})`, {
    hint: `Move the folder aside to keep it (mv ${dataDir} ${dataDir}.broken) or delete it to start fresh (rm -rf ${dataDir}); the next command creates a new, empty one.`,
    details: { dataDir },
    cause: error,
  });
}
