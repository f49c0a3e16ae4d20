// P4–P6, the API: boot overhead of ensureMigrated(), /api/v1/health/db throughput
// against a bare Express route with a body of the same size, and 16 processes
// booting at once on an empty database against one booting alone.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { ROOT, fmt, median, withDatabase } from './lib.mjs';

const SERVER = join(ROOT, 'packages/api/dist/server.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * CPU seconds (user + system, its waited-for children included) a process has used so far, from
 * /proc/<pid>/stat: P6's floor is CPU, so one boot's CPU time is measured, not guessed.
 */
function cpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14–17 of proc(5); fields[0] here is field 3.
  const ticks = fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
  return ticks / CLOCK_TICKS;
}

/** Starts the server; resolves when it listens, with its port and what it logged. */
function boot(env) {
  const started = performance.now();
  const child = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listening = false;
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      // Once listening, the output (an access-log line per request under load) is drained and
      // dropped: collecting and re-splitting it took the bench's own CPU from the server it measures.
      if (listening) return;
      output += chunk;
      // pino writes the message after the fields: find the "listening" line, then its port.
      const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
      const match = line && /"port":(\d+)/.exec(line);
      // The CPU reading is taken at "listening", before the process is stopped: the whole boot, migrations included.
      if (match) {
        listening = true;
        resolve({ child, port: Number(match[1]), ms: performance.now() - started, cpuSeconds: cpuSecondsOf(child.pid), output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${output}`)));
  });
}

const stop = (server) => new Promise((resolve) => { server.child.once('exit', resolve); server.child.kill('SIGTERM'); });

/** P4: time spent inside ensureMigrated() at boot on an up-to-date database (the boot log's durationMs). */
async function bootOverhead() {
  return withDatabase(async (url) => {
    await stop(await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' }));
    const inside = [];
    const total = [];
    for (let i = 0; i < RUNS; i++) {
      const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
      const bootLine = server.output.split('\n').find((l) => l.includes('"event":"boot.migrations"'));
      inside.push(JSON.parse(bootLine).durationMs);
      total.push(server.ms);
      await stop(server);
    }
    return { id: 'P4', label: 'API boot: ensureMigrated() on an up-to-date database (part of the whole boot)', ours: median(inside), floor: median(total), ratio: null, goal: '≤ 100 ms', met: median(inside) <= 100, unit: 'ms' };
  });
}

async function requestsPerSecond(url) {
  const result = await autocannon({ url, connections: 32, duration: LOAD_SECONDS });
  return result.requests.average;
}

/** P5: /api/v1/health/db vs a bare Express route returning a body of the same size, same run. */
export async function healthThroughput() {
  return withDatabase(async (url) => {
    const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
    try {
      const body = await (await fetch(`http://127.0.0.1:${server.port}/api/v1/health/db`)).text();
      const bare = express();
      bare.get('/bare', (_req, res) => res.type('application/json').send(body));
      const bareServer = await new Promise((resolve) => { const s = bare.listen(0, '127.0.0.1', () => resolve(s)); });
      try {
        const ours = await requestsPerSecond(`http://127.0.0.1:${server.port}/api/v1/health/db`);
        const floor = await requestsPerSecond(`http://127.0.0.1:${bareServer.address().port}/bare`);
        return { id: 'P5', label: `GET /api/v1/health/db req/s vs bare Express route (${body.length} B body, ${LOAD_SECONDS} s each)`, ours, floor, ratio: ours / floor, goal: '≥ 0.8×', met: ours >= 0.8 * floor, unit: 'req/s' };
      } finally {
        bareServer.close();
      }
    } finally {
      await stop(server);
    }
  });
}

/**
 * P6: 16 API processes at once on an empty database vs one alone: time until all listen. Its bound is
 * the CPU floor, one boot's CPU seconds × 16 / cores: 16 boots cannot finish sooner on this machine.
 */
async function concurrentBoots() {
  const alone = [];
  const cpu = [];
  const sixteen = [];
  for (let i = 0; i < Math.max(3, Math.floor(RUNS / 2)); i++) {
    await withDatabase(async (url) => {
      const server = await boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' });
      alone.push(server.ms);
      cpu.push(server.cpuSeconds);
      await stop(server);
    });
    await withDatabase(async (url) => {
      const started = performance.now();
      const servers = await Promise.all(Array.from({ length: 16 }, () => boot({ DATABASE_URL: url, AUTO_MIGRATE: 'true' })));
      sixteen.push(performance.now() - started);
      await Promise.all(servers.map(stop));
    });
  }
  const ratio = median(sixteen) / median(alone);
  const cores = availableParallelism();
  const floorMs = (median(cpu) * 1000 * 16) / cores;
  const cpuFloor = { cpuSeconds: median(cpu), cores, floor: floorMs, ratio: median(sixteen) / floorMs, goal: 1.25 };
  // The goal is on the CPU floor row; the ratio to one boot alone stays as a report.
  return { id: 'P6', label: '16 API processes booting at once on an empty database vs one alone', ours: median(sixteen), floor: median(alone), ratio, goal: 'report', unit: 'ms', cpuFloor };
}

export async function runApiBenchmarks() {
  return [await bootOverhead(), await healthThroughput(), await concurrentBoots()];
}

export function apiLines(rows) {
  return rows.flatMap((r) => {
    const show = (v) => (r.unit === 'req/s' ? `${Math.round(v)} req/s` : fmt(v));
    const ratio = r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`;
    const line = `| ${r.id} | ${r.label} | ${show(r.ours)} | ${show(r.floor)} | ${ratio} | ${r.met === undefined ? r.goal : `${r.goal} ${r.met ? '✔' : '✘'}`} |`;
    if (!r.cpuFloor) return [line];
    // The same wall time against what bounds it, on the row below (as the Node floor rows of P1/P2).
    const c = r.cpuFloor;
    const label = `↳ CPU floor: one boot's CPU (${c.cpuSeconds.toFixed(2)} s user+system) × 16 / ${c.cores} cores`;
    return [line, `| ${r.id} | ${label} | ${show(r.ours)} | ${show(c.floor)} | ${c.ratio.toFixed(2)}× | ≤ ${c.goal}× ${c.ratio <= c.goal ? '✔' : '✘'} |`];
  });
}

export function printApiRows(rows) {
  for (const line of apiLines(rows)) console.log(line);
}
