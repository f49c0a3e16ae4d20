/**
 * Prometheus's promtool (Debian package `prometheus`, installed by .ci/run when missing): the
 * rule-file and exposition-format checks use the real tool, never a re-implementation.
 */
import { spawnSync } from 'node:child_process';

/** Whether promtool is on PATH. Under CI (CI=true) a missing promtool is a failure, not a skip. */
export function havePromtool(): boolean {
  const found = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found && process.env.CI) throw new Error('promtool is not on PATH: .ci/run installs the Debian package "prometheus"');
  return found;
}

export interface PromtoolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs promtool with `input` on stdin (e.g. `check metrics`). */
export function promtool(args: string[], input?: string, cwd?: string): PromtoolRun {
  const run = spawnSync('promtool', args, { input, cwd, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
