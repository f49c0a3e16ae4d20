/** `digilog-db migrate`: apply pending migrations (deploy semantics), after classifying them. */
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { printFindings } from '../output/findings.js';
import { formatMs, type Terminal } from '../output/terminal.js';
import type { Plan } from '../operations/plan.js';
import { withAllowFlags } from '../core/acknowledgements.js';
import { commandContext, setExitCode, withCommonOptions, type CommonFlags } from './common.js';
import { durationFlag, wholeNumberFlag } from './option-values.js';

interface MigrateFlags extends CommonFlags {
  allowModifiedHistory?: boolean;
  allowOutOfOrder?: boolean;
  allowDangerous?: boolean;
  allowMissingHistory?: boolean;
  allow?: string[];
  to?: string;
  dryRun?: boolean;
  backup?: string | boolean;
  lockWait?: number;
  lockTimeout?: number;
  statementTimeout?: number;
}

export function register(program: Command): void {
  withCommonOptions(program.command('migrate'))
    .description('classify and apply pending migrations under the migration lock (like `prisma migrate deploy`)')
    .option('--to <migration>', 'apply the pending migrations only up to and including this one (a step-wise deploy)')
    .option('--dry-run', 'print the plan (pending migrations, classification, SQL) and change nothing; exit 3 if anything is pending, 4 if it would be blocked')
    .option('--allow-dangerous', 'in production, apply Dangerous changes that the migration files do not acknowledge')
    .option('--backup [dir]', 'pg_dump the database into dir before applying (default dir: DIGILOG_BACKUP_DIR or .digilog/backups; on by default in production when pg_dump exists)')
    .option('--no-backup', 'do not back up, even in production')
    .option('--lock-timeout <duration>', 'lock_timeout for the migration session, e.g. 5s (default: DIGILOG_LOCK_TIMEOUT or 10s; 0 = none)', durationFlag('--lock-timeout'))
    .option('--statement-timeout <duration>', 'statement_timeout for the migration session, e.g. 30min (default: DIGILOG_STATEMENT_TIMEOUT or 1h; 0 = none)', durationFlag('--statement-timeout'))
    .option('--lock-wait <ms>', 'how long to wait for another runner holding the migration lock (default: DIGILOG_LOCK_WAIT_MS or 60000)', wholeNumberFlag('--lock-wait'))
    .option('--allow-modified-history', 'apply even if an applied migration was edited since')
    .option('--allow-out-of-order', 'in production, apply a migration older than the newest applied one')
    .option('--allow-missing-history', 'in production, apply even though applied migrations are missing from the migrations folder')
    .option('--allow <migration:rule>', 'acknowledge one Dangerous change of one migration, e.g. 20240103000000_drop_legacy:drop-table (repeatable)', allowFlag, [] as string[])
    .addHelpText(
      'after',
      `
Before applying, every pending statement is classified Safe / Requires care / Dangerous
(PostgreSQL's parser plus the live tables' sizes). With NODE_ENV=production, Dangerous
changes are refused (exit 4) unless acknowledged: a line "<migration> <rule>" in
digilog.acknowledgements at the migrations folder's root, --allow <migration>:<rule>,
or, for a migration not applied anywhere yet, "-- digilog:allow <rule>" in the file
(editing an applied file changes its checksum: exit 7 wherever it ran); or unless
--allow-dangerous is given. Applied migrations missing from the folder are refused in
production unless --allow-missing-history is given. Per-migration comments: -- digilog:lock-timeout 30s,
-- digilog:statement-timeout 2h, -- digilog:budget 5min, -- digilog:no-transaction.

Examples:
  $ DATABASE_URL=postgresql://app:secret@db:5432/digilog digilog-db migrate
  $ digilog-db migrate --dry-run          # the plan; exit 3 when something is pending
  $ digilog-db migrate --json             # one JSON document for CI
  $ NODE_ENV=production digilog-db migrate --backup /var/backups/digilog
  $ digilog-db migrate --lock-timeout 3s --lock-wait 120000
  $ digilog-db migrate --to 20240102000000_add_plan   # step-wise: up to this one only`,
    )
    .action(async (flags: MigrateFlags) => {
      const { config, paths, terminal } = await commandContext(flags);
      const { runnerOptions } = await import('../operations/runner-options.js');
      const { chooseBackupDir } = await import('../operations/backup.js');
      const projectDir = dirname(paths.schemaPath ? dirname(paths.schemaPath) : paths.migrationsDir);
      const options = {
        ...runnerOptions(config, paths, {
          lockWaitMs: flags.lockWait ?? config.lockWaitMs,
          lockTimeoutMs: flags.lockTimeout ?? config.lockTimeoutMs,
          statementTimeoutMs: flags.statementTimeout ?? config.statementTimeoutMs,
        }),
        allowModifiedHistory: flags.allowModifiedHistory === true,
        allowOutOfOrder: flags.allowOutOfOrder === true,
        allowDangerous: flags.allowDangerous === true,
        allowMissingHistory: flags.allowMissingHistory === true,
        allow: flags.allow ?? [],
        ...(flags.to === undefined ? {} : { to: flags.to }),
        backupDir: chooseBackupDir(flags.backup, config, join(projectDir, '.digilog', 'backups')),
      };
      if (flags.dryRun) {
        const { dryRun } = await import('../operations/dry-run.js');
        const result = await dryRun(options);
        if (terminal.json) terminal.printJson({ ok: !result.blocked, dryRun: true, ...result });
        else printDryRun(terminal, result);
        setExitCode(result.blocked ? EXIT_CODES['dangerous-blocked'] : result.pending.length > 0 ? EXIT_CODES.pending : EXIT_CODES.ok);
        return;
      }
      const { migrate } = await import('../operations/migrate.js');
      const { color } = terminal;
      const spinner = await terminal.spinner('Taking the migration lock');
      // SIGTERM/SIGINT (a rolling deploy, Ctrl-C) and SIGHUP (the terminal or ssh session closed, whose
      // default would kill us mid-migration): finish the current migration, start no other, release the lock.
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        terminal.err(`${signal} received: finishing the current migration, then stopping.`);
        stop.abort();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      process.once('SIGHUP', onSignal);
      // LOG_FORMAT=json: each event is also a log line (the same lines the API writes at boot).
      const events = terminal.log ? (await import('../log/migration-events.js')).migrationEventLog(terminal.log) : undefined;
      try {
        const result = await migrate({
          ...options,
          signal: stop.signal,
          onEvent(event) {
            events?.onEvent(event);
            if (terminal.log) return;
            if (event.type === 'lock-wait') {
              const who = event.holder ? `process ${event.holder.pid} (${event.holder.applicationName ?? 'unknown'})` : 'another session';
              spinner.text = `Waiting for the migration lock held by ${who}`;
              terminal.err(`Waiting for the migration lock held by ${who}`);
            } else if (event.type === 'plan') {
              printPlanFindings(terminal, event.plan, (line) => terminal.err(line));
            } else if (event.type === 'backup-start') {
              spinner.text = `Backing up the database into ${event.dir}`;
            } else if (event.type === 'backup-done') {
              terminal.err(`Backup written: ${event.backup.path} (${formatBytes(event.backup.bytes)}, ${formatMs(event.backup.durationMs)})`);
            } else if (event.type === 'migration-start') {
              spinner.text = `[${event.index + 1}/${event.total}] Applying ${event.name}`;
            } else if (event.type === 'migration-done') {
              const slow = event.result.slow ? color.yellow(' (over budget)') : '';
              terminal.out(`${color.green('✔')} ${event.result.name} ${color.dim(formatMs(event.result.durationMs))}${slow}`);
            } else if (event.type === 'warning') {
              terminal.err(`${color.yellow('Warning:')} ${event.message}`);
            }
          },
        });
        spinner.stop();
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
        throw error;
      } finally {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGHUP', onSignal);
      }
    });
}

/** Findings worth reading before the run: every migration that is not entirely Safe. */
function printPlanFindings(terminal: Terminal, plan: Plan, write: (line: string) => void): void {
  for (const migration of plan.migrations) if (migration.worst !== 'safe') printFindings(terminal, migration, { write, showRelaxed: false });
}

function printDryRun(terminal: Terminal, result: import('../operations/dry-run.js').DryRunResult): void {
  const { color } = terminal;
  for (const warning of result.warnings) terminal.err(`${color.yellow('Warning:')} ${warning}`);
  if (result.pending.length === 0) {
    terminal.out(`Dry run: nothing to apply. ${color.green('Database is up to date!')} (${result.database})`);
    return;
  }
  terminal.out(`Dry run on ${result.database}: ${result.pending.length} pending migration${result.pending.length === 1 ? '' : 's'}${result.plan.withContext ? ' (classified against the live tables)' : ''}\n`);
  for (const migration of result.plan.migrations) {
    printFindings(terminal, migration);
    terminal.out(color.dim(migration.sql.trimEnd().replace(/^/gm, '    | ')));
    terminal.out();
  }
  const { counts } = result.plan;
  terminal.out(`${counts.dangerous} dangerous, ${counts.care} requiring care, ${counts.safe} safe statement(s).`);
  if (result.backupDir) terminal.out(`migrate would back up the database into ${result.backupDir} first.`);
  if (result.blocked) terminal.out(color.red(`Blocked in production: ${result.plan.blocking.length} Dangerous change(s) not acknowledged (add "<migration> <rule>" to digilog.acknowledgements, or pass --allow <migration>:<rule> or --allow-dangerous).`));
  terminal.out('Nothing was changed.');
}

function formatBytes(bytes: number): string {
  return bytes >= 1_048_576 ? `${(bytes / 1_048_576).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

/** `--allow <migration>:<rule>`, checked when parsed: a malformed one is one line, exit 2, before anything connects. */
function allowFlag(value: string, previous: string[]): string[] {
  withAllowFlags(new Map(), [value]);
  return [...previous, value];
}
