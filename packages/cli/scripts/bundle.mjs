// Bundles the CLI entry into one file. Node resolves and reads each module file
// separately; for a command that CI and health checks run cold (status, health),
// loading ~200 small files of pg, zod and commander cost more than the work itself.
// The library (dist/index.js) stays unbundled for importers.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli.js'],
  outfile: 'dist/cli.bundle.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // WebAssembly packages, the Prisma CLI and tsx load files relative to their own
  // folders; ora is only loaded on an interactive terminal. pino (LOG_FORMAT=json) and
  // prom-client (status --prometheus) load only when asked for.
  // node-postgres is bundled (its ~20 files cost ~10 ms to resolve and load one by one);
  // its optional native and Cloudflare transports are not. The schema engine's adapter
  // takes the installed pg instead (see engine/adapter-factory.ts).
  external: ['libpg-query', '@prisma/*', 'prisma', 'tsx', 'ora', 'pg-native', 'pg-cloudflare', '@electric-sql/*', 'pino', 'prom-client'],
  banner: { js: "import { createRequire as __digilogCreateRequire } from 'node:module'; const require = __digilogCreateRequire(import.meta.url);" },
  sourcemap: true,
  // Smaller text parses faster at every cold start; names are kept for readable stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
