/** `digilog-db migrate`: apply pending migrations (deploy semantics). */
import type { Command } from 'commander';
import { DigilogError, EXIT_CODES } from '../errors.js';
import type { Logger } from '../log/json-logger.js';
import { formatMs } from '../output/terminal.js';
import { commandContext, setExitCode, withCommonOptions, type CommonFlags } from './common.js';

interface MigrateFlags extends CommonFlags {
  allowModifiedHistory?: boolean;
  allowOutOfOrder?: boolean;
  lockWait?: string;
}

export function register(program: Command): void {
  withCommonOptions(program.command('migrate'))
    .description('apply pending migrations under the migration lock (like `prisma migrate deploy`)')
    .option('--lock-wait <ms>', 'how long to wait for another runner holding the lock (default: DIGILOG_LOCK_WAIT_MS or 60000)')
    .option('--allow-modified-history', 'apply even if an applied migration was edited since')
    .option('--allow-out-of-order', 'in production, apply a migration older than the newest applied one')
    .addHelpText(
      'after',
      `
Examples:
  $ DATABASE_URL=postgresql://app:secret@db:5432/digilog digilog-db migrate
  $ digilog-db migrate --json            # one JSON document for CI
  $ digilog-db migrate --lock-wait 120000`,
    )
    .action(async (flags: MigrateFlags) => {
      const { config, paths, terminal } = await commandContext(flags);
      const { migrate } = await import('../operations/migrate.js');
      const { runnerOptions } = await import('../operations/runner-options.js');
      const { color } = terminal;
      const spinner = await terminal.spinner('Taking the migration lock');
      const lockWaitMs = flags.lockWait === undefined ? config.lockWaitMs : Number(flags.lockWait);
      // SIGTERM/SIGINT (a rolling deploy, Ctrl-C): finish the current migration, start no other, release the lock.
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        terminal.err(`${signal} received: finishing the current migration, then stopping.`);
        stop.abort();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      // LOG_FORMAT=json: each event is also a log line (the same lines the API writes at boot).
      const events = terminal.log ? await migrationEvents(terminal.log, paths.migrationsDir) : undefined;
      try {
        const result = await migrate({
          ...runnerOptions(config, paths, { lockWaitMs }),
          allowModifiedHistory: flags.allowModifiedHistory === true,
          allowOutOfOrder: flags.allowOutOfOrder === true,
          signal: stop.signal,
          onEvent(event) {
            events?.onEvent(event);
            if (terminal.log) return;
            if (event.type === 'lock-wait') {
              const who = event.holder ? `process ${event.holder.pid} (${event.holder.applicationName ?? 'unknown'})` : 'another session';
              spinner.text = `Waiting for the migration lock held by ${who}`;
              terminal.err(`Waiting for the migration lock held by ${who}`);
            } else if (event.type === 'migration-start') {
              spinner.text = `[${event.index + 1}/${event.total}] Applying ${event.name}`;
            } else if (event.type === 'migration-done') {
              terminal.out(`${color.green('✔')} ${event.result.name} ${color.dim(formatMs(event.result.durationMs))}`);
            } else if (event.type === 'warning') {
              terminal.err(`${color.yellow('Warning:')} ${event.message}`);
            }
          },
        });
        spinner.stop();
        await events?.settled();
        terminal.log?.('info', result.action === 'applied' ? `applied ${result.applied.length} migration(s)` : 'Database is up to date!', {
          event: 'migrate.completed',
          action: result.action,
          applied: result.applied.map((a) => a.name),
          durationMs: Math.round(result.durationMs),
          lockWaitMs: Math.round(result.lockWaitMs),
        });
        if (terminal.json) {
          terminal.printJson({ ok: true, ...result });
        } else if (terminal.log) {
          // The log lines above are the report; stdout stays empty rather than mixing text into a JSON log stream.
        } else if (result.action === 'applied') {
          terminal.out(
            `Applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} to ${result.database} in ${formatMs(result.durationMs)}.`,
          );
        } else {
          terminal.out(`No pending migrations to apply. ${color.green('Database is up to date!')} (${result.database})`);
        }
        setExitCode(EXIT_CODES.ok);
      } catch (error) {
        spinner.stop();
        // Connection and configuration errors are logged once, by the entry point's error printer.
        if (!(error instanceof DigilogError && ['unreachable', 'config', 'usage'].includes(error.kind))) events?.failed(error);
        await events?.settled();
        throw error;
      } finally {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
      }
    });
}

/** The event logger, with the migrations folder read for classification (a missing folder is reported by migrate itself). */
async function migrationEvents(log: Logger, migrationsDir: string) {
  const [{ migrationEventLog }, { readMigrations }] = await Promise.all([import('../log/migration-events.js'), import('../project.js')]);
  let local: ReturnType<typeof readMigrations> = [];
  try {
    local = readMigrations(migrationsDir);
  } catch {
    // migrate() reads the folder again and throws the typed error.
  }
  return migrationEventLog(log, local);
}
