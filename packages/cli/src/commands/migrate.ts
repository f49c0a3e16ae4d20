/** `digilog-db migrate`: apply pending migrations (deploy semantics), after classifying them. */
import type { Command } from 'commander';
import type { Run } from './run.js';
import { dirname, join } from 'node:path';
import { DigilogError, EXIT_CODES } from '../errors.js';
import { printDryRun, printProgress } from '../output/deploy.js';
import { dryRunJson, migrateJson } from '../output/json.js';
import { formatMs } from '../output/terminal.js';
import { withAllowFlags } from '../plan/acknowledgements.js';
import { commandContext, outcomeOf, withCommonOptions, type CommonFlags } from './common.js';
import { isCiFormat, resolveFormat, withFormatOption } from '../output/format.js';
import { durationFlag, wholeNumberFlag } from './option-values.js';
import { registerUrlSecrets } from '../config/config.js';
import type { DatabaseTarget } from '../config/target.js';

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
  lockRetryBudget?: number;
  statementTimeout?: number;
  online?: boolean;
  trace?: boolean;
  scratchUrl?: string;
}

export function register(program: Command, run: Run): void {
  withFormatOption(withCommonOptions(program.command('migrate')))
    .description('classify and apply pending migrations under the migration lock (like `prisma migrate deploy`)')
    .option('--to <migration>', 'apply the pending migrations only up to and including this one (a step-wise deploy)')
    .option('--dry-run', 'print the plan (pending migrations, classification, SQL) and change nothing; exit 3 if anything is pending, 4 if it would be blocked')
    .option('--allow-dangerous', 'in production, apply Dangerous changes that the migration files do not acknowledge')
    .option('--backup [dir]', 'pg_dump the database into dir before applying (default dir: DIGILOG_BACKUP_DIR or .digilog/backups; on by default in production when pg_dump exists)')
    .option('--no-backup', 'do not back up, even in production')
    .option('--lock-timeout <duration>', 'how long one attempt to take a lock may hold queries up, e.g. 5s; PostgreSQL\'s lock_timeout is set a margin below (default: DIGILOG_LOCK_TIMEOUT or 1s; 0 = none)', durationFlag('--lock-timeout'))
    .option('--lock-retry-budget <duration>', 'after a lock timeout, retry with backoff for up to this long, e.g. 5min (default: DIGILOG_LOCK_RETRY_BUDGET or 60s; 0 = no retry)', durationFlag('--lock-retry-budget'))
    .option('--statement-timeout <duration>', 'statement_timeout for the migration session, e.g. 30min (default: DIGILOG_STATEMENT_TIMEOUT or 1h; 0 = none)', durationFlag('--statement-timeout'))
    .option('--lock-wait <ms>', 'how long to wait for another runner holding the migration lock (default: DIGILOG_LOCK_WAIT_MS or 60000)', wholeNumberFlag('--lock-wait'))
    .option('--online', 'run pending statements as their lock-friendly equivalents (CREATE INDEX CONCURRENTLY, NOT VALID + VALIDATE, batched UPDATE, …); also DIGILOG_ONLINE=true')
    .option('--trace', 'record, per statement, the locks its session took (pg_locks), whether a table or index was rewritten (relfilenode) and its duration: in --json, the JSON log and the output')
    .option('--scratch-url <url>', 'with --dry-run --trace: an empty database on which the applied history is replayed and the pending migrations run traced, then dropped again (default: DIGILOG_SCRATCH_URL)')
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
  $ digilog-db migrate --dry-run --trace --online --scratch-url postgresql://localhost/scratch
  $ digilog-db migrate --json             # one JSON document for CI
  $ NODE_ENV=production digilog-db migrate --backup /var/backups/digilog
  $ digilog-db migrate --lock-timeout 3s --lock-wait 120000
  $ digilog-db migrate --to 20240102000000_add_plan   # step-wise: up to this one only`,
    )
    .action(outcomeOf(run, async (flags: MigrateFlags) => {
      // Registered before anything can fail, so that no message can echo the scratch URL's password.
      if (flags.scratchUrl !== undefined) registerUrlSecrets(flags.scratchUrl);
      if (flags.scratchUrl !== undefined && !(flags.dryRun && flags.trace)) {
        throw new DigilogError('usage', '--scratch-url needs --dry-run --trace (it is where a dry run traces the pending migrations)', { hint: 'Run `digilog-db migrate --dry-run --trace --scratch-url <url>`.' });
      }
      const format = resolveFormat(flags);
      if (!flags.dryRun && isCiFormat(format)) throw new DigilogError('usage', `--format ${format} needs --dry-run (a deploy prints text or --json)`, { hint: `Run \`digilog-db migrate --dry-run --format ${format}\` for the plan.` });
      if (flags.trace && isCiFormat(format)) throw new DigilogError('usage', `--trace prints in text or --json, not --format ${format}`, { hint: 'Run `digilog-db migrate --dry-run --trace --json` for the traces, and --format without --trace for the annotations.' });
      const { config, paths, terminal } = await commandContext(run, flags);
      const { runnerOptions } = await import('../config/runner-options.js');
      const { chooseBackupDir } = await import('../deploy/backup.js');
      const projectDir = dirname(paths.schemaPath ? dirname(paths.schemaPath) : paths.migrationsDir);
      const options = {
        ...runnerOptions(config, paths, {
          lockWaitMs: flags.lockWait ?? config.lockWaitMs,
          lockTimeoutMs: flags.lockTimeout ?? config.lockTimeoutMs,
          lockRetryBudgetMs: flags.lockRetryBudget ?? config.lockRetryBudgetMs,
          online: flags.online === true || config.online,
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
        const { dryRun } = await import('../deploy/dry-run.js');
        const scratch = flags.trace ? await scratchOf(flags, config.scratchUrl, options.target) : undefined;
        const events = scratch && terminal.log ? (await import('../output/migration-log.js')).migrationEventLog(terminal.log) : undefined;
        // Ctrl-C or SIGTERM on the scratch database: the current migration finishes, then everything is dropped again (exit 11).
        const signal = scratch ? run.stopSignal() : undefined;
        const result = await dryRun({ ...options, ...(scratch ? { scratch } : {}), ...(signal ? { signal } : {}), ...(events ? { onTrace: (trace) => events.onEvent({ type: 'trace', trace }) } : {}) });
        return {
          exitCode: result.blocked ? EXIT_CODES['dangerous-blocked'] : result.plan.steps.length > 0 ? EXIT_CODES.pending : EXIT_CODES.ok,
          json: dryRunJson(result),
          report: { command: 'dry-run', result },
          render: () => printDryRun(terminal, result),
        };
      }
      const { migrate } = await import('../deploy/migrate.js');
      const { color } = terminal;
      const spinner = await terminal.spinner('Taking the migration lock');
      // SIGTERM/SIGINT (a rolling deploy, Ctrl-C) and SIGHUP (the terminal or ssh session closed, whose
      // default would kill us mid-migration): finish the current migration, start no other, release the lock.
      const stop = run.stopSignal();
      stop.addEventListener('abort', () => terminal.err(`${String(stop.reason)} received: finishing the current migration, then stopping.`), { once: true });
      // LOG_FORMAT=json: each event is also a log line (the same lines the API writes at boot).
      const events = terminal.log ? (await import('../output/migration-log.js')).migrationEventLog(terminal.log) : undefined;
      try {
        const result = await migrate({
          ...options,
          signal: stop,
          trace: flags.trace === true,
          preloadParser: true,
          onEvent(event) {
            events?.onEvent(event);
            if (!terminal.log) printProgress(terminal, spinner, event);
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
        return {
          exitCode: EXIT_CODES.ok,
          json: migrateJson(result),
          render: () => {
            // With LOG_FORMAT=json the log lines above are the report; stdout stays empty rather than mixing text into a JSON log stream.
            if (terminal.log) return;
            if (result.action === 'applied') terminal.out(`Applied ${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} to ${result.database} in ${formatMs(result.durationMs)}.`);
            else terminal.out(`No pending migrations to apply. ${color.green('Database is up to date!')} (${result.database})`);
          },
        };
      } catch (error) {
        spinner.stop();
        // Connection and configuration errors are logged once, by the entry point's error printer.
        if (!(error instanceof DigilogError && ['unreachable', 'config', 'usage'].includes(error.kind))) events?.failed(error);
        throw error;
      }
    }));
}

/** The scratch database of `--dry-run --trace`: the flag, else DIGILOG_SCRATCH_URL; without either, one line and exit 2. */
async function scratchOf(flags: MigrateFlags, fromEnv: string | undefined, target: DatabaseTarget): Promise<DatabaseTarget> {
  const { scratchTarget } = await import('../config/scratch.js');
  if (flags.scratchUrl !== undefined) return scratchTarget(flags.scratchUrl, '--scratch-url', target);
  if (fromEnv !== undefined) return scratchTarget(fromEnv, 'DIGILOG_SCRATCH_URL', target);
  throw new DigilogError('usage', '--dry-run --trace needs a scratch database to run the pending migrations on: pass --scratch-url <url> or set DIGILOG_SCRATCH_URL', {
    hint: 'Give an empty database (e.g. `createdb digilog_scratch`); the target is only read. `migrate --trace` traces a real run.',
  });
}

/** `--allow <migration>:<rule>`, checked when parsed: a malformed one is one line, exit 2, before anything connects. */
function allowFlag(value: string, previous: string[]): string[] {
  withAllowFlags(new Map(), [value]);
  return [...previous, value];
}
