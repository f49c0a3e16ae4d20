/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm,
 * the version @prisma/internals of our Prisma release pins). The native
 * engine binaries cannot be downloaded here; this build needs no download.
 * Loading takes about 80 ms and happens once per process.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

type EngineModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

/** The slice of the WebAssembly API used here (Node has it; our TS lib set does not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, object>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
let loading: Promise<EngineModule> | undefined;

/** Messages of the last engine panic; without the registry a panic surfaces as an unreadable TypeError. */
const panics: string[] = [];

function packageDir(): string {
  // The package's exports hide package.json; its entry file sits next to the .wasm.
  const entry = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm');
  return dirname(entry);
}

/** Loads and instantiates the engine module once. */
export function loadSchemaEngineModule(): Promise<EngineModule> {
  loading ??= (async () => {
    (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
      set_message(message: string) {
        panics.push(message);
      },
    };
    const bindings = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as EngineModule & {
      __wbg_set_wasm(exports: Record<string, unknown>): void;
    };
    const bytes = await readFile(join(packageDir(), 'schema_engine_bg.wasm'));
    const instance = new wasm.Instance(new wasm.Module(bytes), { './schema_engine_bg.js': bindings });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  return loading;
}

/** A schema engine for one schema file, over a migration-aware adapter factory. */
export async function createSchemaEngine(schemaPath: string, schemaText: string, adapterFactory: object): Promise<SchemaEngine> {
  const module = await loadSchemaEngineModule();
  try {
    return await module.SchemaEngine.new({ datamodels: [[schemaPath, schemaText]] }, () => {}, adapterFactory);
  } catch (error) {
    throw withPanic(error);
  }
}

/** Attaches the engine's panic message (if any) to an error thrown by an engine call. */
export function withPanic(error: unknown): unknown {
  const panic = panics.splice(0).join('\n');
  if (panic && error instanceof Error) error.message = `${error.message}\nschema engine panic: ${panic}`;
  return error;
}
