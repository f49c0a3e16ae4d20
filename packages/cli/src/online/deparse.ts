/**
 * SQL text from PostgreSQL parse-tree nodes: libpg-query's deparser, from its
 * full build (@libpg-query/parser: the same PostgreSQL 17 parser plus
 * deparse). Loaded only by `--online`, so plain runs never pay for it.
 */
import { createRequire } from 'node:module';
import { withBaselineWasmCompiler } from '../wasm-compiler.js';

type FullModule = {
  loadModule(): Promise<void>;
  parseSync(sql: string): { version: number };
  deparseSync(tree: { version: number; stmts: Array<{ stmt: Record<string, unknown> }> }): string;
};

let loaded: Promise<{ module: FullModule; version: number }> | undefined;

function load(): Promise<{ module: FullModule; version: number }> {
  loaded ??= (async () => {
    const module = createRequire(import.meta.url)('@libpg-query/parser') as FullModule;
    await withBaselineWasmCompiler(() => module.loadModule());
    return { module, version: module.parseSync('SELECT 1').version };
  })();
  return loaded;
}

/** A deparser, once loaded: one statement node (`{ IndexStmt: {…} }`) to its SQL text. */
export type Deparse = (stmt: Record<string, unknown>) => string;

/** Loads the deparser (~0.2 s the first time). */
export async function loadDeparser(): Promise<Deparse> {
  const { module, version } = await load();
  return (stmt) => module.deparseSync({ version, stmts: [{ stmt: structuredClone(stmt) }] });
}

/** `"name"`: an identifier quoted for PostgreSQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
