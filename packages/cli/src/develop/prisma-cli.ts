/**
 * Runs the Prisma CLI for the commands that never need its native schema
 * engine (generate, studio). The CLI insists on locating that engine at start
 * and would download it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
 * file (the node binary) skips the download. Set for the child process only.
 */
import { spawnCaptured, type CapturedRun } from '../process/spawn-captured.js';
import { createRequire } from 'node:module';

export type PrismaCliRun = CapturedRun;

/** Runs the bundled Prisma CLI; with `signal`, Ctrl-C or SIGTERM is passed on (a long-running Studio must stop with us, not outlive us holding its port). */
export function runPrismaCli(
  args: string[],
  { cwd, env = {}, inherit = false, signal }: { cwd: string; env?: Record<string, string | undefined>; inherit?: boolean; signal?: AbortSignal | undefined },
): Promise<PrismaCliRun> {
  const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  return spawnCaptured(process.execPath, [prismaCli, ...args], {
    cwd,
    env: { ...process.env, ...env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
    stdout: inherit ? 'inherit' : 'capture',
    signal,
  });
}
