#!/usr/bin/env node
// Thin launcher: the compiled entry lives in dist/ (built by `pnpm build`).
import('../dist/cli.bundle.mjs').then((cli) => cli.main(process.argv)).catch((error) => {
  process.stderr.write(`digilog-db: could not start (${error?.code ?? 'error'}). Run "pnpm build" first.\n`);
  process.exitCode = 1;
});
