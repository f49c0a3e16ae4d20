/**
 * How V8 compiles the WebAssembly digilog-db loads: libpg-query's parser, Prisma's
 * schema engine and PGlite (the embedded default database).
 *
 * By default V8 compiles a module twice: Liftoff (its baseline compiler) at once,
 * then TurboFan (the optimizing one) on background threads. For libpg-query's
 * 1.1 MB module that second compile costs about 0.25 s of CPU in every process,
 * more than all the parsing a deploy does, and on a small machine it takes the
 * CPU away from the PostgreSQL server that is applying the migrations. Measured
 * on a 2-core machine (Node 20), loading the parser and parsing documenso's 163
 * files: 360-420 ms of CPU and 46-83 ms of parsing by default, 134-147 ms of
 * CPU and 32-40 ms of parsing with Liftoff only; ten times the parsing is
 * still faster with Liftoff only (140 vs 230 ms), because the work is dominated
 * by the JavaScript side (decoding the parse tree's JSON). PGlite, same machine:
the API's warm start on the embedded database 1.76 -> 1.51 s, and 3,000 upserts
plus 3,000 selects 1.7 -> 1.3 s with 1.5 s less CPU; Prisma's schema engine:
`dev --create-only` 1.31 -> 1.25 s.
 *
 * The flag is set only around the compile it is meant for and put back after,
 * so other WebAssembly in the process keeps V8's defaults.
 */
import { setFlagsFromString } from 'node:v8';

let depth = 0;

/** Runs `compile` (which compiles and instantiates a WebAssembly module) with V8's baseline compiler only. */
export async function withBaselineWasmCompiler<T>(compile: () => Promise<T>): Promise<T> {
  if (depth++ === 0) setFlagsFromString('--liftoff-only');
  try {
    return await compile();
  } finally {
    if (--depth === 0) setFlagsFromString('--no-liftoff-only');
  }
}
