/**
 * The one way digilog-db runs another program (pg_dump, the Prisma CLI, a
 * seed script): its output captured (or passed through), and an abort signal
 * passed on to it so that it stops with us instead of outliving us.
 */
import { spawn } from 'node:child_process';

export interface CapturedRun {
  /** The exit code; -1 when the program could not be started (see output). */
  code: number | null;
  /** stdout and stderr as they came (stderr only with `stdout: 'ignore'`); empty with `inherit`. */
  output: string;
  /** The signal we passed on (the abort's reason), when that is what ended it. */
  stoppedBy: NodeJS.Signals | undefined;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** `inherit`: the child writes to our terminal (Studio); `ignore`: only stderr is kept (pg_dump writes its dump to a file). */
  stdout?: 'capture' | 'ignore' | 'inherit';
  /** Aborting sends the child the abort's reason (a signal name; SIGTERM otherwise). */
  signal?: AbortSignal | undefined;
}

/** Runs a program to its end. Never rejects: a program that cannot start resolves with code -1 and the reason in output. */
export function spawnCaptured(command: string, args: string[], { cwd, env = process.env, stdout = 'capture', signal }: SpawnOptions = {}): Promise<CapturedRun> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd, env, stdio: stdout === 'inherit' ? 'inherit' : ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    let stoppedBy: NodeJS.Signals | undefined;
    const stop = () => {
      stoppedBy = typeof signal?.reason === 'string' && signal.reason.startsWith('SIG') ? (signal.reason as NodeJS.Signals) : 'SIGTERM';
      child.kill(stoppedBy);
    };
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    let settled = false;
    const finish = (code: number | null, extra = '') => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', stop);
      resolveRun({ code, output: output + extra, stoppedBy });
    };
    child.on('error', (error) => finish(-1, error.message));
    child.on('close', (code) => finish(code));
  });
}
