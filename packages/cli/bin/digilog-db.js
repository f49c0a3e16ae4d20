#!/usr/bin/env node
// Thin launcher: the compiled entry lives in dist/ (built by `pnpm build`).
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of the bundle on disk, so later cold starts skip
// most of the parse/compile (Node 20 has no such API and starts as before).
module.enableCompileCache?.();
import('../dist/cli.bundle.mjs').then((cli) => cli.main(process.argv)).catch((error) => {
  process.stderr.write(`digilog-db: could not start (${error?.code ?? 'error'}). Run "pnpm build" first.\n`);
  process.exitCode = 1;
});
