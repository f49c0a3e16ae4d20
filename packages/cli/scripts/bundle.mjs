// Bundles the CLI entry into one file. Node resolves and reads each module file
// separately; for a command that CI and health checks run cold (status, health),
// loading ~200 small files of pg, zod and commander cost more than the work itself.
// The library gets a bundle of its own too (dist/index.bundle.mjs, the package's entry): the API
// server imports it at every boot, where its ~100 files cost ~30 ms of resolving and compiling.
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "import { createRequire as __digilogCreateRequire } from 'node:module'; const require = __digilogCreateRequire(import.meta.url);" },
  sourcemap: true,
  // Smaller text parses faster at every cold start; names are kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};
// WebAssembly packages, the Prisma CLI and tsx load files relative to their own
// folders; ora is only loaded on an interactive terminal. pino (LOG_FORMAT=json) and
// prom-client (status --prometheus) load only when asked for.
const lazy = ['libpg-query', '@prisma/*', 'prisma', 'tsx', 'ora', 'pg-native', 'pg-cloudflare', '@electric-sql/*', 'pino', 'prom-client'];

await build({
  ...shared,
  entryPoints: ['dist/cli.js'],
  outfile: 'dist/cli.bundle.mjs',
  // node-postgres is bundled (its ~20 files cost ~10 ms to resolve and load one by one);
  // its optional native and Cloudflare transports are not. The schema engine's adapter
  // takes the installed pg instead (see engine/adapter-factory.ts).
  external: lazy,
});

await build({
  ...shared,
  entryPoints: ['dist/index.js'],
  outfile: 'dist/index.bundle.mjs',
  // node-postgres stays the installed one here: an importer (the API, with Prisma's adapter) shares
  // one pg with the library, so its errors and type parsers are the same classes and settings.
  external: [...lazy, 'pg'],
});
