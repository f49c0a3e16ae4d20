/**
 * Server entry: validate config → ensureMigrated() → listen → graceful
 * shutdown on SIGTERM/SIGINT. In production a failed migration stops the
 * process (the orchestrator restarts it); elsewhere the API starts degraded
 * and health says why.
 */
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import {
  applyDatasource,
  DigilogError,
  ensureMigrated,
  loadConfig,
  migrationEventLog,
  readDatasource,
  redact,
  resolveProjectPaths,
  runnerOptions,
  withEmbeddedDefault,
  type Config,
  type ErrorKind,
} from '@digilog/db';
import { z } from 'zod';
import { createApp } from './app.js';
import { DatabaseRouter, createPrisma } from './database.js';
import { HealthMonitor } from './health/monitor.js';
import { jsonLogger as log } from './log.js';
import { createMetrics } from './metrics.js';

const ApiEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  HEALTH_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

function fail(message: string, exitCode: number): never {
  process.stderr.write(`${redact(message)}\n`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let config: Config;
  let api;
  try {
    config = loadConfig(process.env);
    const parsed = ApiEnv.safeParse(process.env);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new DigilogError('config', `${String(issue.path[0])} ${issue.message}`);
    }
    api = parsed.data;
  } catch (error) {
    if (error instanceof DigilogError) fail(`Configuration error: ${error.message}${error.hint ? `\n${error.hint}` : ''}`, error.exitCode);
    throw error;
  }

  // Without DATABASE_URL (never in production) the API runs on the embedded PGlite database.
  const paths = resolveProjectPaths();
  const projectDir = dirname(dirname(paths.schemaPath ?? paths.migrationsDir));
  let embedded;
  try {
    // The schema's (or prisma.config.ts's) datasource variables, as the CLI reads them: migrations on directUrl, queries on url.
    config = applyDatasource(config, process.env, { datasource: readDatasource(paths.schemaPath, projectDir) });
    embedded = await withEmbeddedDefault(config, projectDir, { announce: (line) => log('info', line) });
  } catch (error) {
    if (error instanceof DigilogError) fail(`Configuration error: ${error.message}${error.hint ? `\n${error.hint}` : ''}`, error.exitCode);
    throw error;
  }
  config = embedded.config;
  const databaseUrl = config.databaseUrl!;

  // The same migration events as `LOG_FORMAT=json digilog-db migrate` (started/finished/failed, lock waits).
  const events = migrationEventLog(log);
  // SIGTERM while booting (a rolling deploy replacing this pod): finish the current migration,
  // start no other, release the lock and exit, instead of being killed mid-script.
  const bootStop = new AbortController();
  const onBootSignal = (signal: NodeJS.Signals) => {
    log('warn', `${signal} during boot: finishing the current migration, then exiting`, { event: 'boot.signal', signal });
    bootStop.abort();
  };
  process.once('SIGTERM', onBootSignal);
  process.once('SIGINT', onBootSignal);
  const boot = await ensureMigrated({ config, onEvent: events.onEvent, signal: bootStop.signal });
  process.removeListener('SIGTERM', onBootSignal);
  process.removeListener('SIGINT', onBootSignal);
  if (boot.error && boot.error.kind !== 'unreachable' && boot.error.kind !== 'config') {
    events.failed(new DigilogError(boot.error.kind as ErrorKind, boot.error.message, { prismaCode: boot.error.prismaCode, hint: boot.error.hint }));
  }
  const bootFields = { event: 'boot.migrations', action: boot.action, applied: boot.applied, pending: boot.pending, durationMs: Math.round(boot.durationMs) };
  if (bootStop.signal.aborted) {
    log('info', 'stopped during boot', { ...bootFields, event: 'boot.stopped' });
    await embedded.stop();
    process.exit(boot.action === 'failed' ? (boot.error?.exitCode ?? 1) : 0);
  }
  if (boot.action === 'failed') {
    const event = boot.error?.kind === 'unreachable' ? 'database.unreachable' : 'boot.migrations';
    log('error', `migration failed at boot: ${boot.reason}`, { ...bootFields, event, kind: boot.error?.kind, prismaCode: boot.error?.prismaCode, hint: boot.error?.hint });
    if (config.isProduction) {
      await embedded.stop();
      process.exit(boot.error?.exitCode ?? 1);
    }
    log('warn', 'starting degraded (NODE_ENV is not production); see /api/v1/health/db');
  } else {
    log(boot.action === 'skipped' ? 'warn' : 'info', `migrations: ${boot.reason}`, bootFields);
  }

  const runner = runnerOptions(config, paths);
  const health = new HealthMonitor({ runner, replicaUrl: config.replicaUrl, refreshMs: api.HEALTH_REFRESH_MS, boot: { action: boot.action, reason: boot.reason }, log });
  await health.start();
  const db = new DatabaseRouter(
    createPrisma(config.applicationUrl ?? databaseUrl, { name: 'primary', log }),
    config.replicaUrl ? createPrisma(config.replicaUrl, { name: 'replica', log }) : undefined,
    () => health.replicaReplayLsn(),
  );
  const metrics = createMetrics({ health, pools: () => db.pools, boot: { lockWaitMs: boot.migrate?.lockWaitMs ?? 0, durationMs: boot.durationMs } });
  const app = createApp({ health, db, log, metrics });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(api.PORT, api.HOST, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : api.PORT;
  log('info', 'listening', { port, replica: config.replicaUrl !== undefined });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down', { signal });
    health.markShuttingDown();
    // Stop accepting; close() waits for in-flight requests, idle keep-alive sockets are closed now.
    server.close(async () => {
      await health.stop();
      await db.disconnect().catch(() => {});
      await embedded.stop();
      log('info', 'stopped');
      process.exit(0);
    });
    // Keep-alive sockets become idle once their in-flight response is sent: close them as they do.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
    setTimeout(() => {
      log('warn', 'shutdown timed out; closing remaining connections');
      server.closeAllConnections();
    }, api.SHUTDOWN_TIMEOUT_MS).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  fail(`digilog-api failed to start: ${(error as Error)?.message ?? String(error)}`, 1);
});
