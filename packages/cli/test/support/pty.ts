/**
 * Runs the built `digilog-db` on a real pseudo-terminal, through `script` from util-linux:
 * the terminal Kubernetes (`tty: true`), `docker run -t` and CI's `script` wrappers give it.
 * The test controls the terminal's size, what is redirected inside it, and the terminal's
 * owner (`script`): stop it and the terminal stops reading; kill it and the terminal closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './cli.js';
import { REPO_ROOT } from './migrations.js';

export interface PtyRun {
  /** `script`, the owner of the terminal (its master side). */
  script: ChildProcess;
  /** Resolves with the pid of digilog-db inside the terminal once it has started. */
  pid: Promise<number>;
  /** `script` has exited; with -e its code is digilog-db's. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the terminal showed so far (escape sequences included). */
  screen(): string;
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Starts `digilog-db <args>` on a terminal of `columns` × `rows`; `redirect` is shell text after
 * the command inside the terminal (e.g. `> out.txt`). Colours are not disabled: NO_COLOR is unset.
 */
export function startInPty(
  args: string[],
  { columns, rows = columns, env = {}, redirect = '' }: { columns: number; rows?: number; env?: Record<string, string | undefined>; redirect?: string },
): PtyRun {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'digilog-pty-')), 'pid');
  // $$ is the shell's pid, and `exec` makes it digilog-db's: the session leader of the terminal.
  const command = `stty cols ${columns} rows ${rows}; echo $$ > ${quote(pidFile)}; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')} ${redirect}`;
  const script = spawn('script', ['--quiet', '--return', '--flush', '--command', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, SHELL: '/bin/sh', TERM: 'xterm-256color', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let screen = '';
  script.stdout!.on('data', (chunk) => (screen += chunk));
  script.stderr!.on('data', (chunk) => (screen += chunk));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => script.on('close', (code, signal) => resolve({ code, signal })));
  const pid = (async () => {
    for (;;) {
      const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
      if (text !== '') return Number(text);
      await sleep(10);
    }
  })();
  return { script, pid, done, screen: () => screen };
}

/** True while `pid` runs (a zombie waiting for its parent to reap it has exited). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Resolves once `pid` has exited. */
export async function exited(pid: number): Promise<void> {
  while (isRunning(pid)) await sleep(20);
}

/**
 * `promise`, or a rejection naming `what` after `ms`: a hang fails the test with a reason
 * instead of holding the worker until vitest's own timeout (it measures nothing).
 */
export async function orHang<T>(promise: Promise<T>, ms: number, what: string, onHang: () => void = () => {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onHang();
      reject(new Error(`hung: ${what} (nothing after ${ms / 1000} s)`));
    }, ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills digilog-db and the terminal's owner, whatever state they are in (test clean-up). */
export function killAll(run: PtyRun, pid: number | undefined): void {
  for (const target of [pid, run.script.pid]) {
    if (target === undefined) continue;
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
