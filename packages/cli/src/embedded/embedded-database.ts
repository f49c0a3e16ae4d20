/**
 * The embedded default: when DATABASE_URL is unset (and never in production),
 * digilog-db and the API run on PGlite (PostgreSQL compiled to WebAssembly),
 * persisted under `.digilog/`, served to node-postgres on a loopback port by
 * pglite-socket. A second persisted instance serves as the shadow database of
 * `dev`/`diff` (PGlite has one database per instance; its schema is emptied
 * before each use). Both must be stopped: they keep the event loop alive.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withBaselineWasmCompiler } from '../wasm-compiler.js';

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
  const db = await withBaselineWasmCompiler(() => PGlite.create(dataDir));
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
  const [main, shadow] = await Promise.all([serve(dataDir), withShadow ? serve(join(dir, 'shadow')) : undefined]);
  return {
    url: main.url,
    shadowUrl: shadow?.url,
    dataDir,
    stop: async () => {
      await Promise.all([main.stop(), shadow?.stop()]);
    },
  };
}
