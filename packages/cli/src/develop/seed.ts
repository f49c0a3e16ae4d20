/** Runs the project's seed script (prisma/seed.ts) in a child process with tsx. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { connect, type ConnectOptions } from '../db/connect.js';
import type { DatabaseTarget } from '../config/target.js';
import { DigilogError } from '../errors.js';
import type { ProjectPaths } from '../read/project.js';
import { redact } from '../redact.js';
import { spawnCaptured } from '../process/spawn-captured.js';

export interface SeedResult {
  seedFile: string;
  durationMs: number;
  output: string;
}

/** The seed file next to the schema, or null when the project has none. */
export function findSeedFile(paths: ProjectPaths): string | null {
  const file = join(paths.schemaPath ? dirname(paths.schemaPath) : dirname(paths.migrationsDir), 'seed.ts');
  return existsSync(file) ? file : null;
}

/**
 * Runs the seed; throws `internal` with the script's (redacted) output when it fails. The database is
 * reached first, so a missing database or server is the usual one-line `unreachable` error (P1001/P1003,
 * exit 8) rather than the script's Prisma stack trace.
 */
export async function runSeed(
  paths: ProjectPaths,
  target: DatabaseTarget,
  connection: Pick<ConnectOptions, 'retries' | 'connectTimeoutMs'> = { retries: 0, connectTimeoutMs: 5_000 },
  /** Ctrl-C or SIGTERM: the seed script is stopped with us. */
  signal?: AbortSignal,
): Promise<SeedResult> {
  const seedFile = findSeedFile(paths);
  if (!seedFile) {
    throw new DigilogError('usage', `No seed script found next to the schema (${paths.schemaPath ?? paths.migrationsDir})`, {
      hint: 'Create prisma/seed.ts.',
    });
  }
  // Never createDatabase: seeding a database nobody created is a mistake in DATABASE_URL.
  const client = await connect(target, { ...connection, applicationName: `digilog-db pid=${process.pid}` });
  await client.end().catch(() => {});
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const started = performance.now();
  const { code, output } = await spawnCaptured(process.execPath, [tsx, seedFile], {
    cwd: dirname(dirname(seedFile)),
    env: { ...process.env, DATABASE_URL: target.url },
    ...(signal ? { signal } : {}),
  });
  if (code !== 0) {
    throw new DigilogError('internal', `Seed script ${seedFile} failed (exit ${code}):\n${redact(output.trim())}`);
  }
  return { seedFile, durationMs: performance.now() - started, output: redact(output) };
}
