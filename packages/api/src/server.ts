/**
 * Server entry (`node dist/server.js`). It loads the server from one bundled file
 * (dist/server.bundle.mjs, built by scripts/bundle.mjs after tsc): at every boot Node otherwise
 * resolves, reads and compiles ~400 files of Express, zod and their dependencies one by one,
 * which was a third of a boot's CPU (P6 in docs/benchmarks.md: 16 replicas booting on 2 cores).
 * The compile cache is turned on first, so that Node 22.1+ also skips compiling the bundle
 * again on later boots (Node 20 has no such API and compiles it each time).
 */
import module from 'node:module';

module.enableCompileCache?.();
await import('./server.bundle.mjs' as string);
