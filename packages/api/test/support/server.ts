/** Starts the built API server as a child process, as an orchestrator would, and reads its JSON logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const SERVER = join(REPO_ROOT, 'packages', 'api', 'dist', 'server.js');

export interface RunningServer {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything written so far (stdout + stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Spawns the server and waits for its "listening" line (or its exit). */
export function startServer(env: Record<string, string>, { timeoutMs = 30_000, cwd = REPO_ROOT } = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [SERVER], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', HEALTH_REFRESH_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk;
      // pino writes the message after the fields: find the "listening" line, then read its port.
      const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
      const match = line && /"port":(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        const port = Number(match[1]);
        resolveStart({
          child,
          port,
          url: `http://127.0.0.1:${port}`,
          output: () => output,
          exited,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`server exited with ${code}:\n${output}`), { exitCode: code, output }));
    });
  });
}

/** Polls fn until it returns true or the time is up; returns the elapsed ms. */
export async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await fn().catch(() => false)) return performance.now() - started;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
