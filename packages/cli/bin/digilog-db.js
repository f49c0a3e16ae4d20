#!/usr/bin/env node
// Thin launcher: the compiled entry lives in dist/ (built by `pnpm build`).
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of the bundle on disk, so later cold starts skip
// most of the parse/compile (Node 20 has no such API and starts as before).
module.enableCompileCache?.();

// When it is loaded, pg asks whether it runs in a Cloudflare Worker. Where `navigator` is
// missing (Node 20) it does so with `new Response(...)`, and the first touch of Response
// loads all of Node's fetch implementation (undici): ~12 ms of every cold start, for a
// command that never fetches. Response is hidden while the bundle (and pg with it) loads,
// and put back before any command runs. Node 21+ has `navigator`, so nothing is hidden there.
const response = typeof navigator === 'undefined' ? Object.getOwnPropertyDescriptor(globalThis, 'Response') : undefined;
if (response) Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
const restoreResponse = () => {
  if (response) Object.defineProperty(globalThis, 'Response', response);
};

import('../dist/cli.bundle.mjs')
  .then((cli) => {
    restoreResponse();
    return cli.main(process.argv);
  })
  .catch((error) => {
    restoreResponse();
    process.stderr.write(`digilog-db: could not start (${error?.code ?? 'error'}). Run "pnpm build" first.\n`);
    process.exitCode = 1;
  });
