/**
 * Runs the Prisma CLI for the commands that never need its native schema
 * engine (generate, studio). The CLI insists on locating that engine at start
 * and would download it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
 * file (the node binary) skips the download. Set for the child process only.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface PrismaCliRun {
  code: number | null;
  /** Combined output, when captured. */
  output: string;
  /** The signal we passed on to the child (SIGINT on Ctrl-C, SIGTERM), when that is what ended it. */
  stoppedBy: NodeJS.Signals | undefined;
}

export function runPrismaCli(args: string[], { cwd, env = {}, inherit = false }: { cwd: string; env?: Record<string, string | undefined>; inherit?: boolean }): Promise<PrismaCliRun> {
  const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, ...args], {
      cwd,
      env: { ...process.env, ...env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    // A long-running child (Studio) must stop with us, not outlive us holding its port.
    let stoppedBy: NodeJS.Signals | undefined;
    const forward = (signal: NodeJS.Signals) => {
      stoppedBy = signal;
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', reject);
    child.on('close', (code) => {
      process.removeListener('SIGINT', forward);
      process.removeListener('SIGTERM', forward);
      resolve({ code, output, stoppedBy });
    });
  });
}
