/**
 * The server itself (loaded by server.ts, bundled into dist/server.bundle.mjs): validate config →
 * ensureMigrated() → listen → graceful shutdown on SIGTERM/SIGINT. In production a failed
 * migration stops the process (the orchestrator restarts it); elsewhere the API starts degraded
 * and health says why.
 */
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import {
  applyDatasource,
  DigilogError,
  EXIT_CODES,
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
import { accessLogger, jsonLogger as log } from './log.js';
import { createMetrics } from './metrics.js';

const ApiEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  HEALTH_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

// Every line the API writes is a JSON log line, read by collectors: Node's own warnings too (its
// default printer writes plain text), and whatever escapes main() below.
process.removeAllListeners('warning');
process.on('warning', (warning) => log('warn', warning.message, { event: 'process.warning', name: warning.name }));
// A library printing through console (Express's last-resort error printer, a driver's warning) logs JSON too.
for (const [method, level] of [['log', 'info'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warn'], ['error', 'error']] as const) {
  console[method] = (...args: unknown[]) => log(level, format(...args), { event: 'console' });
}
const crashed = (error: unknown) => fail(`digilog-api crashed: ${(error as Error)?.message ?? String(error)}`, EXIT_CODES.internal, { kind: 'internal', event: 'process.crashed' });
process.on('uncaughtException', crashed);
process.on('unhandledRejection', crashed);

/** One JSON error line (the logger redacts it), then the exit. */
function fail(message: string, exitCode: number, fields: { kind?: string; hint?: string | undefined; event?: string } = {}): never {
  log('error', redact(message), { event: 'boot.failed', exitCode, ...fields });
  process.exit(exitCode);
}

function failWith(prefix: string, error: DigilogError): never {
  fail(`${prefix}${error.message}`, error.exitCode, { kind: error.kind, hint: error.hint });
}

/**
 * The project around the working directory (a checkout, a test's fixture), else the one this
 * API was installed with: dist/ lies inside it (the repository's prisma/, the image's /app/prisma),
 * so `node /abs/path/dist/server.js` started from any folder finds its migrations.
 */
function projectDirectory(): string {
  try {
    resolveProjectPaths();
    return process.cwd();
  } catch (error) {
    if (!(error instanceof DigilogError) || error.kind !== 'usage') throw error;
    return dirname(fileURLToPath(import.meta.url));
  }
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
    if (error instanceof DigilogError) failWith('Configuration error: ', error);
    throw error;
  }

  // Without DATABASE_URL (never in production) the API runs on the embedded PGlite database.
  const cwd = projectDirectory();
  const paths = resolveProjectPaths({ cwd });
  const projectDir = dirname(dirname(paths.schemaPath ?? paths.migrationsDir));
  let embedded;
  try {
    // The schema's (or prisma.config.ts's) datasource variables, as the CLI reads them: migrations on directUrl, queries on url.
    config = applyDatasource(config, process.env, { datasource: readDatasource(paths.schemaPath, projectDir) });
    embedded = await withEmbeddedDefault(config, projectDir, { announce: (line) => log('info', line) });
  } catch (error) {
    if (error instanceof DigilogError) failWith('Configuration error: ', error);
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
  // DIGILOG_CONNECT_RETRIES, when set, replaces ensureMigrated's default of waiting ~30 s for the database.
  const connectRetries = process.env.DIGILOG_CONNECT_RETRIES?.trim() ? config.connectRetries : undefined;
  const boot = await ensureMigrated({ config, cwd, connectRetries, onEvent: events.onEvent, signal: bootStop.signal });
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
  const metrics = createMetrics({ health, pools: () => db.pools, boot: { lockWaitMs: boot.migrate?.lockWaitMs ?? 0, durationMs: boot.durationMs, lockRetries: () => events.lockRetries } });
  const app = createApp({ health, db, log, requestLog: accessLogger, metrics, alwaysRequireKey: config.isProduction });
  const listened = await new Promise<Server | (Error & { code?: string })>((resolve) => {
    // Express 5 hands a listen error (port in use, address not local) to this callback.
    const s = app.listen(api.PORT, api.HOST, (error?: Error) => resolve(error ?? s));
  });
  if (listened instanceof Error) {
    await health.stop();
    await db.disconnect().catch(() => {});
    await embedded.stop();
    fail(`Configuration error: PORT ${api.PORT} on HOST ${api.HOST} cannot be used (${listened.code ?? listened.message})`, EXIT_CODES.config, {
      kind: 'config',
      hint: 'Choose a free PORT, and a HOST that is an address of this machine.',
    });
  }
  const server = listened;
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
    // SHUTDOWN_TIMEOUT_MS bounds the whole exit, not only the requests: a query still blocked then
    // (a lock wait, a database gone silent) would hold pool.end() for as long as it lasts. Its work is
    // abandoned (never committed: its transaction dies with the connection), hence exit 11 (interrupted);
    // exiting closes the pool's sockets. Not unref'd: this timer is what ends a stuck shutdown.
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    setTimeout(() => {
      log('warn', 'shutdown timed out; closing remaining connections', { event: 'shutdown.timeout', timeoutMs: api.SHUTDOWN_TIMEOUT_MS });
      server.closeAllConnections();
      // With only slow clients cut off, the normal path above still finishes (exit 0) within a moment.
      // Whatever is still stuck then is abandoned; the embedded database gets a moment to close its files.
      void sleep(500).then(() => {
        log('warn', 'shutdown still blocked by a query; exiting without waiting for it', { event: 'shutdown.abandoned' });
        return Promise.race([embedded.stop().catch(() => {}), sleep(500)]).then(() => process.exit(EXIT_CODES.interrupted));
      });
    }, api.SHUTDOWN_TIMEOUT_MS);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof DigilogError) failWith('digilog-api failed to start: ', error);
  fail(`digilog-api failed to start: ${(error as Error)?.message ?? String(error)}`, EXIT_CODES.internal, { kind: 'internal' });
});
