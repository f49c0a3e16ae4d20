/**
 * `pnpm start` and `pnpm dev` as a developer or a process manager runs them: SIGTERM or SIGINT
 * sent to the pnpm process reaches the API, which shuts down gracefully; pnpm exits 0, no
 * process of the run is left (found by a marker in their environment), the port stops answering.
 * (Before scripts/start.mjs, pnpm exited 143 and the API kept serving, re-parented to PID 1.)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../../cli/test/support/database.js';
import { REPO_ROOT } from '../support/server.js';

const newDatabase = testDatabases();
const MARKER = 'DIGILOG_TEST_RUN_MARKER';
const markers: string[] = [];
// Whatever a failed or timed-out test left running is killed after the file.
afterAll(() => {
  for (const pid of markers.flatMap(processesWith)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/** PIDs of the processes whose environment carries this run's marker. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`${MARKER}=${marker}`)) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether anything answers HTTP there (`pnpm dev` does not migrate: its health may be 503). */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

/** Runs `pnpm <script>` until the API listens, sends the signal to pnpm, and reports how it ended. */
async function runAndStop(script: 'start' | 'dev', signal: NodeJS.Signals) {
  const db = await newDatabase(`digilog_pnpm_${script}`);
  const marker = randomUUID();
  markers.push(marker);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/api/v1/health`;
  const child = spawn('pnpm', [script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', NO_COLOR: '1', [MARKER]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  // Listening (for dev, the compiler's first pass may restart it under node --watch: the port stays).
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(async () => {
      if (/"msg":"listening"/.test(output) && (await answers(url))) {
        clearInterval(poll);
        resolve();
      }
    }, 200);
    void exited.then(({ code }) => {
      clearInterval(poll);
      reject(new Error(`pnpm ${script} exited with ${code} before listening:\n${output}`));
    });
  });
  expect(processesWith(marker).length).toBeGreaterThan(1);

  child.kill(signal);
  const end = await exited;
  const left = processesWith(marker);
  return { end, left, output, stillAnswering: await answers(url) };
}

describe('pnpm start / pnpm dev stop cleanly', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('pnpm start, then %s to pnpm: the API shuts down gracefully, pnpm exits 0, nothing is left', async (signal) => {
    const { end, left, output, stillAnswering } = await runAndStop('start', signal);
    expect(end, output).toEqual({ code: 0, signal: null });
    expect(left).toEqual([]);
    expect(stillAnswering).toBe(false);
    expect(output).toContain(`"signal":"${signal}","msg":"shutting down"`);
    expect(output).toContain('"msg":"stopped"');
  }, 180_000);

  it('pnpm dev, then SIGTERM to pnpm: both the compiler in watch mode and node --watch stop, pnpm exits 0', async () => {
    const { end, left, output, stillAnswering } = await runAndStop('dev', 'SIGTERM');
    expect(end, output).toEqual({ code: 0, signal: null });
    expect(left).toEqual([]);
    expect(stillAnswering).toBe(false);
    expect(output).toContain('"msg":"stopped"');
  }, 180_000);
});
