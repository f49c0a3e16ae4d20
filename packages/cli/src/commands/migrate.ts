/** `digilog-db migrate`: apply pending migrations (deploy semantics). */
import type { Command } from 'commander';
import { EXIT_CODES } from '../errors.js';
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
      try {
        const result = await migrate({
          ...runnerOptions(config, paths, { lockWaitMs }),
          allowModifiedHistory: flags.allowModifiedHistory === true,
          allowOutOfOrder: flags.allowOutOfOrder === true,
          signal: stop.signal,
          onEvent(event) {
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
        if (terminal.json) {
          terminal.printJson({ ok: true, ...result });
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
        throw error;
      } finally {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
      }
    });
}
