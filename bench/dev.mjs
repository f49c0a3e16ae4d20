// Developer workflow: `digilog-db dev` on a one-model change (total, and how much of it the
// shadow database costs), and the embedded PGlite default's cold and warm start to a healthy API.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, fmt, median, timeCommand, withDatabase } from './lib.mjs';
import { onProductRuntime } from './runtime.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function projectCopy() {
  const root = mkdtempSync(join(tmpdir(), 'digilog-bench-dev-'));
  cpSync(join(ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
  const schema = join(root, 'prisma', 'schema.prisma');
  writeFileSync(schema, readFileSync(schema, 'utf8').replace('  version     Int          @default(1)', '  version     Int          @default(1)\n  owner       String?'));
  return { root, schema };
}

/** dev with a temporary shadow database, dev with a ready SHADOW_DATABASE_URL, and diff (history replayed in a shadow). */
async function devTimings() {
  const withTemp = [];
  const withReady = [];
  const diffOnly = [];
  for (let i = 0; i < RUNS; i++) {
    await withDatabase(async (url) => {
      const { root, schema } = projectCopy();
      timeCommand(process.execPath, [BIN, 'migrate', '--schema', schema], { DATABASE_URL: url });
      diffOnly.push(timeCommand(process.execPath, [BIN, 'diff', '--schema', schema], { DATABASE_URL: url }));
      withTemp.push(timeCommand(process.execPath, [BIN, 'dev', '--name', 'add_owner', '--create-only', '--schema', schema], { DATABASE_URL: url }));
      rmSync(root, { recursive: true, force: true });
    });
    await withDatabase(async (url) => {
      await withDatabase(async (shadowUrl) => {
        const { root, schema } = projectCopy();
        timeCommand(process.execPath, [BIN, 'migrate', '--schema', schema], { DATABASE_URL: url });
        withReady.push(timeCommand(process.execPath, [BIN, 'dev', '--name', 'add_owner', '--create-only', '--schema', schema], { DATABASE_URL: url, SHADOW_DATABASE_URL: shadowUrl }));
        rmSync(root, { recursive: true, force: true });
      });
    });
  }
  const total = median(withTemp);
  return [
    { id: 'D1', label: '`dev --create-only` on a one-model change (temporary shadow database)', ours: total, floor: null, ratio: null, goal: 'report' },
    { id: 'D2', label: 'same with a ready SHADOW_DATABASE_URL (no CREATE/DROP DATABASE)', ours: median(withReady), floor: total, ratio: median(withReady) / total, goal: 'report' },
    { id: 'D3', label: '`diff` alone (history replayed in a shadow database, then diffed): shadow share of `dev`', ours: median(diffOnly), floor: total, ratio: median(diffOnly) / total, goal: 'report' },
  ];
}

/** Time from spawning the API with no DATABASE_URL to GET /api/v1/health answering 200. */
function bootToHealthy(dataDir) {
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'packages/api/dist/server.js')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', AUTO_MIGRATE: 'true', DIGILOG_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = async (chunk) => {
      output += chunk;
      // pino writes the message after the fields: find the "listening" line, then its port.
      const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
      const match = line && /"port":(\d+)/.exec(line);
      if (!match || child.listened) return;
      child.listened = true;
      const res = await fetch(`http://127.0.0.1:${match[1]}/api/v1/health`);
      const ms = performance.now() - started;
      child.once('exit', () => resolve({ ms, status: res.status }));
      child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => !child.listened && reject(new Error(`server exited ${code}: ${output}`)));
  });
}

async function embeddedStart() {
  const cold = [];
  const warm = [];
  for (let i = 0; i < Math.max(3, Math.floor(RUNS / 2)); i++) {
    const dir = mkdtempSync(join(tmpdir(), 'digilog-bench-embedded-'));
    cold.push((await bootToHealthy(dir)).ms);
    for (let j = 0; j < 2; j++) warm.push((await bootToHealthy(dir)).ms);
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    { id: 'E1', label: 'embedded default: API cold start (new .digilog) to a healthy /api/v1/health', ours: median(cold), floor: null, ratio: null, goal: 'report' },
    { id: 'E2', label: 'embedded default: API warm start to a healthy /api/v1/health', ours: median(warm), floor: null, ratio: null, goal: '≤ 1.5 s', met: median(warm) <= 1500 },
  ];
}

/** `generate` when the schema is unchanged (skipped), as it reports itself in --json (was an assertion in studio-generate.e2e). */
export function generateUnchanged() {
  const root = mkdtempSync(join(tmpdir(), 'digilog-bench-gen-'));
  cpSync(join(ROOT, 'prisma'), join(root, 'prisma'), { recursive: true });
  const args = [BIN, 'generate', '--json', '--schema', join(root, 'prisma', 'schema.prisma')];
  execFileSync(process.execPath, args, { encoding: 'utf8' });
  const runs = Array.from({ length: RUNS }, () => JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' })).durationMs);
  rmSync(root, { recursive: true, force: true });
  const ms = median(runs);
  return [{ id: 'D4', label: '`generate` with the schema unchanged (skipped; its own durationMs)', ours: ms, floor: null, ratio: null, goal: '< 200 ms', met: ms < 200 }];
}

export async function runDevBenchmarks() {
  return [...(await devTimings()), ...generateUnchanged(), ...(await embeddedStart())];
}

export function devLines(rows) {
  return rows.map((r) => `| ${r.id} | ${r.label} | ${fmt(r.ours)} | ${r.floor === null ? '—' : fmt(r.floor)} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.goal}${r.met === undefined ? '' : r.met ? ' ✔' : ' ✘'} |`);
}

export function printDevRows(rows) {
  for (const line of devLines(rows)) console.log(line);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  onProductRuntime();
  printDevRows(await runDevBenchmarks());
}
