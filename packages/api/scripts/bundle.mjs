// Bundles the compiled server (dist/main.js) into dist/server.bundle.mjs, which dist/server.js
// loads: one file to read and compile at boot instead of ~400 (see src/server.ts).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/server.bundle.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: [
    // The library is already one file (its own bundle), and resolves its lazily loaded
    // packages (the parser's WebAssembly, pino) from its own folder.
    '@digilog/db',
    // Prisma's runtime and the generated client load files relative to their own folders.
    '@prisma/*',
    './generated/*',
    // One pg and one prom-client, shared with the library and Prisma's adapter (same classes).
    'pg',
    'prom-client',
  ],
  banner: { js: "import { createRequire as __digilogCreateRequire } from 'node:module'; const require = __digilogCreateRequire(import.meta.url);" },
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
