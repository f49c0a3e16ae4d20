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

type Modules = [typeof import('@electric-sql/pglite'), typeof import('@electric-sql/pglite-socket')];

/**
 * PGlite is an optional peer of @digilog/db: an install that always has DATABASE_URL (a CI image,
 * production) does without its ~30 MB. The embedded default then says what to install.
 */
export const EMBEDDED_PACKAGES = { '@electric-sql/pglite': '0.5.16', '@electric-sql/pglite-socket': '0.2.17' } as const;

/** `import(specifier)`, with a missing package turned into a config error naming it and the install command. */
export async function importEmbedded<T>(specifier: string, load: () => Promise<T> = () => import(specifier) as Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw missingPackage(specifier, error);
  }
}

/** ERR_MODULE_NOT_FOUND for the package itself (not for a file inside an installed one) → a config DigilogError; anything else unchanged. */
export function missingPackage(specifier: string, error: unknown): unknown {
  const e = error as { code?: string; message?: string };
  const notFound = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND';
  if (!notFound || !String(e.message).includes(`'${specifier}'`)) return error;
  const install = Object.entries(EMBEDDED_PACKAGES).map(([name, version]) => `${name}@${version}`).join(' ');
  return new DigilogError('config', `DATABASE_URL is not set and the embedded database is not installed (package ${specifier} not found)`, {
    hint: `Set DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DATABASE, or install the embedded database: pnpm add ${install} (npm install ${install}).`,
    details: { package: specifier },
    cause: error,
  });
}

async function loadModules(): Promise<Modules> {
  return Promise.all([importEmbedded<Modules[0]>('@electric-sql/pglite', () => import('@electric-sql/pglite')), importEmbedded<Modules[1]>('@electric-sql/pglite-socket', () => import('@electric-sql/pglite-socket'))]);
}

async function serve(dataDir: string, [{ PGlite }, { PGLiteSocketServer }]: Modules): Promise<Served> {
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
  // First: without the packages, neither the folder nor its lock is created.
  const modules = await loadModules();
  // Before any file of the folder is opened: a second PostgreSQL on the same files corrupts them.
  const owner = acquireOwnerLock(dir);
  const started = await Promise.allSettled([serve(dataDir, modules), withShadow ? serve(join(dir, 'shadow'), modules) : Promise.resolve(undefined)]);
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
