// Runs the steps of `pnpm start` / `pnpm dev` as children and passes SIGTERM/SIGINT on to them.
// pnpm forwards a signal only to its direct child (this process, started with `exec`); a
// `sh -c "a && b"` between them dies on SIGTERM and leaves b (the API) running, re-parented to PID 1.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Each child gets a process group of its own, and the signal goes to the whole group: so a
 * shell or pnpm inside a step cannot strand its own children, and a terminal's Ctrl-C
 * (delivered to the foreground group: pnpm and this process) reaches a child exactly once.
 * `digilog-db migrate` treats a second signal as "stop now", so it must not get two.
 */
export function supervisor() {
  const children = new Set();
  let stopping;
  const stop = (signal) => {
    if (stopping) return;
    stopping = signal;
    for (const child of children) signalGroup(child, signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));

  /** Runs one command; resolves with its exit code (128 + n when a signal ended it). Starts nothing once stopping. */
  function run(command, args) {
    if (stopping) return Promise.resolve(128 + constants.signals[stopping]);
    return new Promise((resolve) => {
      const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
      children.add(child);
      child.on('error', (error) => {
        children.delete(child);
        console.error(`could not start ${command}: ${error.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => {
        children.delete(child);
        // The group may hold more (e.g. turbo's tsc): make sure none outlives the step.
        if (stopping) signalGroup(child, 'SIGKILL');
        resolve(code ?? 128 + constants.signals[signal]);
      });
    });
  }
  return { run, stopping: () => stopping };
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** pnpm itself (the one running this script), for `pnpm run build`. */
export const PNPM = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['pnpm', []];
