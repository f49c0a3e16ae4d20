/** Runs the built `digilog-db` binary as a user would, with colours off. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './migrations.js';

export const BIN = join(REPO_ROOT, 'packages', 'cli', 'bin', 'digilog-db.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Spawns the CLI with a controlled environment (nothing inherited but PATH and HOME). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO_ROOT): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr, durationMs: performance.now() - started }));
  });
}
