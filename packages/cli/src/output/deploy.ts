/** Human renderings of a deploy: the progress of `migrate` and the plan of `migrate --dry-run`. */
import type { DryRunResult } from '../deploy/dry-run.js';
import type { MigrateEvent } from '../deploy/migrate.js';
import type { Plan } from '../plan/plan.js';
import { printFindings } from './findings.js';
import { stepJson } from './json.js';
import { formatMs, type Spinner, type Terminal } from './terminal.js';
import { formatTrace, printLockEvent, printOnlinePlan } from './online.js';

/** What a human sees while migrate runs (stderr and the spinner; each applied migration on stdout). */
export function printProgress(terminal: Terminal, spinner: Spinner, event: MigrateEvent): void {
  const { color } = terminal;
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
  } else if (event.type === 'lock-retry' || event.type === 'lock-blockers') {
    printLockEvent(terminal, event);
  } else if (event.type === 'online-unit') {
    spinner.text = `${event.migration}: online step ${event.unit}/${event.units} done${event.skipped ? ' (already there)' : ''}`;
  } else if (event.type === 'trace') {
    terminal.err(color.dim(`  trace ${formatTrace(event.trace)}`));
  }
}

/** Findings worth reading before the run: every migration that is not entirely Safe. */
function printPlanFindings(terminal: Terminal, plan: Plan, write: (line: string) => void): void {
  for (const step of plan.steps) if (step.worst !== 'safe') printFindings(terminal, stepJson(step), { write, showRelaxed: false });
}

export function printDryRun(terminal: Terminal, result: DryRunResult): void {
  const { color } = terminal;
  for (const warning of result.warnings) terminal.err(`${color.yellow('Warning:')} ${warning}`);
  if (result.plan.steps.length === 0) {
    terminal.out(`Dry run: nothing to apply. ${color.green('Database is up to date!')} (${result.database})`);
    return;
  }
  const pending = result.plan.steps.length;
  terminal.out(`Dry run on ${result.database}: ${pending} pending migration${pending === 1 ? '' : 's'}${result.plan.withContext ? ' (classified against the live tables)' : ''}\n`);
  for (const step of result.plan.steps) {
    printFindings(terminal, stepJson(step));
    const form = result.online?.find((o) => o.migration === step.migration.name);
    if (form) printOnlinePlan(terminal, step.migration.name, form);
    else terminal.out(color.dim(step.migration.sql.trimEnd().replace(/^/gm, '    | ')));
    const traced = result.trace?.applied.find((a) => a.name === step.migration.name);
    if (traced) {
      terminal.out(`  ${color.bold('traced on the scratch database')} ${color.dim(`(${formatMs(traced.durationMs)})`)}`);
      for (const trace of traced.trace ?? []) terminal.out(`    trace ${formatTrace(trace)}`);
    }
    terminal.out();
  }
  if (result.trace) {
    const { database, replayed, leftover } = result.trace;
    terminal.out(`Traced on the scratch database ${database} (the target's ${replayed} applied migration${replayed === 1 ? '' : 's'} replayed first), ${leftover.length === 0 ? 'which is empty again' : color.yellow(`which still holds: ${leftover.join(', ')}`)}.`);
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
