// The Node.js the benchmarks run on: digilog-db's own runtime, Node 22 LTS (@digilog/db requires
// ^22.12 || >=24, and the image runs node:22). This machine's Node 20 (end of life since
// 2026-04-30) runs the test suite only; benchmarking the product on it would time a runtime the
// product does not support (Node 20 also starts ~30 ms slower: `node -e 0`, see docs/benchmarks.md).
// `pnpm bench` on an older Node re-runs itself on the Node 22 that .ci/run installs (the same
// version and cache folder, installed from npm's node-linux-<arch> package if missing), so every
// process it times (digilog-db, the Node floor, Prisma's engine, the API, the bare Express route)
// runs on that one Node. BENCH_NODE=/path/to/node picks another.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const MINIMUM_MAJOR = 22;

/** The Node 22 binary .ci/run uses (NODE22_VERSION there), installed into its cache if missing. */
function ciNode22() {
  const version = /^NODE22_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, '.ci/run'), 'utf8'))?.[1];
  if (!version) throw new Error('.ci/run names no NODE22_VERSION');
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'digilog-ci', `node-${version}`);
  const binary = join(dir, 'node_modules', `node-linux-${arch}`, 'bin', 'node');
  if (!existsSync(binary)) {
    console.error(`bench: installing Node ${version} (npm package node-linux-${arch}) into ${dir}`);
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `node-linux-${arch}@${version}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return binary;
}

/**
 * Call first in a benchmark entry script: on a Node older than 22 (or another than BENCH_NODE) it
 * runs the same script on Node 22 and exits with its code; otherwise returns. Either way Node's
 * compile cache is off for every process timed (NODE_DISABLE_COMPILE_CACHE): each run compiles
 * digilog-db from scratch, as a fresh container does, and no run profits from an earlier one.
 */
export function onProductRuntime() {
  process.env.NODE_DISABLE_COMPILE_CACHE = '1';
  if (process.env.DIGILOG_BENCH_RUNTIME === process.execPath) return;
  const wanted = process.env.BENCH_NODE;
  const major = Number(process.versions.node.split('.')[0]);
  if (!wanted && major >= MINIMUM_MAJOR) return;
  const node = wanted ?? ciNode22();
  // The child names itself (its own execPath) so that it does not start a third process.
  const probe = execFileSync(node, ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
  if (probe === process.execPath) return;
  const { status, signal } = spawnSync(node, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, DIGILOG_BENCH_RUNTIME: probe } });
  process.exit(signal ? 1 : (status ?? 1));
}
