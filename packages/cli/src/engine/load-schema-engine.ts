/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm,
 * the version @prisma/internals of our Prisma release pins). The native
 * engine binaries cannot be downloaded here; this build needs no download.
 * The module is compiled once per process (~80 ms); each command gets its own
 * SchemaEngine instance, which is freed, and its sessions closed, afterwards.
 *
 * Call sequence matters (measured, and so in prisma-engines' source): in this
 * build only devDiagnostic, diagnoseMigrationHistory (optInToShadowDatabase)
 * and diff open shadow databases. createMigration and evaluateDataLoss read
 * the shadow schema from a per-instance cache keyed by the migrations APPLIED
 * to the database, and otherwise fail with "PostgreSQL shadow DB must be
 * provided through an external factory". So: apply pending migrations, then
 * devDiagnostic, then evaluateDataLoss/createMigration, on ONE instance.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import type { EngineAdapterFactory } from './adapter-factory.js';
import { withBaselineWasmCompiler } from '../wasm-compiler.js';

export type { SchemaEngine } from '@prisma/schema-engine-wasm';

type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

/** The engine methods digilog-db drives (the rest are deprecated or test-only). */
export type EngineMethodName =
  | 'applyMigrations'
  | 'diagnoseMigrationHistory'
  | 'devDiagnostic'
  | 'createMigration'
  | 'evaluateDataLoss'
  | 'schemaPush'
  | 'diff'
  | 'reset'
  | 'markMigrationApplied'
  | 'markMigrationRolledBack'
  | 'introspect'
  | 'dbExecute';

/** Typed access to those methods, each throwing a readable error (with the panic message, if the engine panicked). */
export type EngineApi = { [M in EngineMethodName]: (input: EngineInput<M>) => ReturnType<SchemaEngine[M]> };
/** The input type of one engine method, from the package's schema_engine.d.ts. */
export type EngineInput<M extends EngineMethodName> = Parameters<SchemaEngine[M]>[0];
/** The resolved output type of one engine method. */
export type EngineOutput<M extends EngineMethodName> = Awaited<ReturnType<SchemaEngine[M]>>;

const METHODS: readonly EngineMethodName[] = [
  'applyMigrations',
  'diagnoseMigrationHistory',
  'devDiagnostic',
  'createMigration',
  'evaluateDataLoss',
  'schemaPush',
  'diff',
  'reset',
  'markMigrationApplied',
  'markMigrationRolledBack',
  'introspect',
  'dbExecute',
];

/** The slice of the WebAssembly API used here (Node has it; our TS lib set does not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, object>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
let loading: Promise<EngineModule> | undefined;

/** Messages of engine panics not yet attached to an error; without the registry a panic surfaces as an unreadable TypeError. */
const panics: string[] = [];
/**
 * Set by the first panic. Measured: after one, free() throws "attempted to take ownership of
 * Rust value while it was borrowed" and any further call on the engine throws an uncaught
 * "recursive use of an object" that kills the process; Prisma documents no method as safe.
 */
let panicked: string | undefined;

function installPanicRegistry(): void {
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message: string) {
      panics.push(message);
      panicked ??= message;
    },
  };
}

function refuseAfterPanic(): void {
  if (panicked !== undefined) throw new Error(`The schema engine panicked earlier in this process and cannot be used again: ${panicked}`);
}

function packageDir(): string {
  // The package's exports hide package.json; its entry file sits next to the .wasm.
  return dirname(createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm'));
}

/**
 * The engine races its futures against JS timers (measured: schemaPush arms a 60 s one, the
 * advisory lock a 10 s one) and, importing no clearTimeout, never cancels them, so a finished
 * command kept Node alive up to 60 s. Unref'd, they still fire while a query keeps the process busy.
 */
function withUnrefTimers(bindings: object): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...bindings };
  for (const [name, value] of Object.entries(bindings)) {
    if (!name.startsWith('__wbg_setTimeout_') || typeof value !== 'function') continue;
    const setTimer = value as (callback: unknown, ms: number) => { unref?: () => void } | undefined;
    imports[name] = (callback: unknown, ms: number) => {
      const timer = setTimer(callback, ms);
      timer?.unref?.();
      return timer;
    };
  }
  return imports;
}

/** Loads and instantiates the engine module once per process; later calls share the same promise. */
export function loadSchemaEngineModule(): Promise<EngineModule> {
  loading ??= (async () => {
    installPanicRegistry();
    // The package entry imports the .wasm as an ES module, which Node 20 cannot; wire the bindings by hand instead.
    const bindings = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as EngineModule & {
      __wbg_set_wasm(exports: Record<string, unknown>): void;
    };
    const bytes = await readFile(join(packageDir(), 'schema_engine_bg.wasm'));
    // Liftoff only (see wasm-compiler.ts): one command's schema work is short-lived.
    const instance = await withBaselineWasmCompiler(async () => new wasm.Instance(new wasm.Module(bytes), { './schema_engine_bg.js': withUnrefTimers(bindings) }));
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  // A failed load is not cached, so a later call can retry.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** A schema engine for one schema file over a migration-aware adapter factory. The caller must free() it. */
export async function createSchemaEngine(
  schemaPath: string,
  schemaText: string,
  adapterFactory: object,
  onLog: (line: string) => void = () => {},
): Promise<SchemaEngine> {
  const module = await loadSchemaEngineModule();
  refuseAfterPanic();
  try {
    return await module.SchemaEngine.new({ datamodels: [[schemaPath, schemaText]] }, onLog, adapterFactory);
  } catch (error) {
    throw withPanic(error);
  }
}

/** Attaches the engine's pending panic message (if any) to an error thrown by an engine call. */
export function withPanic(error: unknown): unknown {
  const panic = panics.splice(0).join('\n');
  if (!panic) return error;
  if (error instanceof Error) {
    error.message = `${error.message}\nschema engine panic: ${panic}`;
    return error;
  }
  return new Error(`schema engine panic: ${panic}`, { cause: error });
}

/** Calls one engine method with its typed input; errors carry the panic message when the engine panicked. */
export async function callEngine<M extends EngineMethodName>(engine: SchemaEngine, method: M, input: EngineInput<M>): Promise<EngineOutput<M>> {
  refuseAfterPanic();
  panics.length = 0;
  try {
    const call = engine[method] as (this: SchemaEngine, input: EngineInput<M>) => Promise<EngineOutput<M>>;
    return await call.call(engine, input);
  } catch (error) {
    throw withPanic(error);
  }
}

/** Frees the engine's WASM memory; a no-op after a panic, when free() itself would throw. */
export function freeSchemaEngine(engine: SchemaEngine | undefined): void {
  if (engine === undefined || panicked !== undefined) return;
  engine.free();
}

/** Where the engine's schema comes from, and the adapter factory it runs on. */
export interface EngineSessionOptions {
  schemaPath: string;
  schemaText: string;
  adapters: EngineAdapterFactory;
  onLog?: (line: string) => void;
}

/**
 * Runs `use` with a fresh engine, then frees the engine and closes every
 * session and shadow database of the adapter factory, also when `use` throws,
 * so nothing keeps the process alive or is left behind on the server.
 */
export async function withSchemaEngine<T>(options: EngineSessionOptions, use: (engine: EngineApi) => Promise<T>): Promise<T> {
  let engine: SchemaEngine | undefined;
  let result: T;
  try {
    engine = await createSchemaEngine(options.schemaPath, options.schemaText, options.adapters.bound, options.onLog);
    const created = engine;
    const api = Object.fromEntries(METHODS.map((method) => [method, (input: never) => callEngine(created, method, input)])) as unknown as EngineApi;
    result = await use(api);
  } catch (error) {
    freeSchemaEngine(engine);
    // The engine's error is the one worth reporting; a clean-up failure must not replace it.
    await options.adapters.close().catch(() => {});
    throw error;
  }
  freeSchemaEngine(engine);
  await options.adapters.close();
  return result;
}
