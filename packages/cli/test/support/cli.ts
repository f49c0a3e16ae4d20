/** Runs the built `digilog-db` binary as a user would, with colours off. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './migrations.js';

export const BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'digilog-db.js');
const GATED = join(REPO_ROOT, 'packages', 'cli', 'test', 'support', 'gated-cli.mjs');

export interface CliRun {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** performance.now() when the process was spawned (to measure how close together runners started). */
  startedAt: number;
  durationMs: number;
}

export interface StartedCli {
  child: ChildProcess;
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<CliRun>;
  /** Output so far. */
  stderr(): string;
}

/** Spawns the CLI with a controlled environment (nothing inherited but PATH and HOME) and returns at once. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO_ROOT): StartedCli {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return { child, done: collect(child, startedAt), stderr: () => stderr };
}

function collect(child: ChildProcess, startedAt: number): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise<CliRun>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, startedAt, durationMs: performance.now() - startedAt }));
  });
}

/**
 * Starts `count` processes that each load the CLI (or, with `importModule`, nothing) and wait;
 * once all are ready they are released together: each runs `digilog-db <args>` (or imports
 * `importModule`, e.g. the API server). Resolves once all were released.
 */
export async function releaseTogether(
  count: number,
  args: string[],
  env: Record<string, string | undefined> = {},
  { importModule }: { importModule?: string } = {},
): Promise<StartedCli[]> {
  const gated = Array.from({ length: count }, () => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, [GATED, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...(importModule ? { GATED_IMPORT: importModule } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const started: StartedCli = { child, done: collect(child, startedAt), stderr: () => stderr };
    return { started, ready: new Promise<void>((resolveReady) => child.once('message', () => resolveReady())) };
  });
  await Promise.all(gated.map((g) => Promise.race([g.ready, g.started.done])));
  for (const g of gated) if (g.started.child.connected) g.started.child.send('go');
  return gated.map((g) => g.started);
}

/** The measured spread (ms, wall clock) between the first and the last released process's start. */
export function startSpreadMs(stderrs: string[]): number {
  const goAt = stderrs.map((text) => Number(/gated-cli: go at (\d+)/.exec(text)?.[1] ?? NaN));
  return Math.max(...goAt) - Math.min(...goAt);
}

/** releaseTogether() for a command that exits: the runs and the spread of their start times. */
export async function runTogether(count: number, args: string[], env: Record<string, string | undefined> = {}): Promise<{ runs: CliRun[]; spreadMs: number }> {
  const runs = await Promise.all((await releaseTogether(count, args, env)).map((s) => s.done));
  return { runs, spreadMs: startSpreadMs(runs.map((r) => r.stderr)) };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO_ROOT): Promise<CliRun> {
  return startCli(args, env, cwd).done;
}
