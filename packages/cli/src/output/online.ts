/** Human output of the online stages: the online form of a migration (`migrate --dry-run --online`), lock retries, traces. */
import { formatMs, type Terminal } from './terminal.js';
import { describeBlocker } from '../online/blockers.js';
import type { LockEvent } from '../online/lock-retry.js';
import { lockName, whatItBlocks } from '../plan/locks.js';
import type { OnlinePlan, Piece } from '../online/rewrite.js';
import type { StatementTrace } from '../apply/statement-trace.js';

const lockLine = (p: Piece) => `${lockName(p.lock)}${p.table ? ` on "${p.table}"` : ''}, blocks ${whatItBlocks(p.lock)}`;

/** The first line of SQL after the comments the parser counts as part of the statement. */
const firstLine = (sql: string) => sql.split('\n').find((line) => line.trim() !== '' && !line.trim().startsWith('--')) ?? sql;

/** Each original statement, what runs instead, the lock it takes and what that lock blocks; then whether it stays atomic. */
export function printOnlinePlan(terminal: Terminal, migration: string, form: OnlinePlan): void {
  const { color } = terminal;
  if (!form.rewritten) {
    terminal.out(`  ${color.dim(`--online: ${migration} runs as written${form.reason ? ` (${form.reason})` : ' (nothing to rewrite)'}`)}`);
    return;
  }
  const atomicity = form.atomic ? 'one transaction' : `${form.units.length} steps, each committed on its own: not atomic (progress is recorded; after a crash \`migrate --online\` completes it)`;
  terminal.out(`  ${color.bold(`--online: ${migration}`)} runs in ${atomicity}`);
  for (const s of form.statements) {
    terminal.out(`    #${s.statement} ${firstLine(s.original)}`);
    if (!s.rule) {
      terminal.out(color.dim(`       as written: ${lockLine(s.runs[0]!)}${s.note ? ` (${s.note})` : ''}`));
      continue;
    }
    for (const run of s.runs) terminal.out(`       ${color.green('→')} ${run.sql}\n         ${color.dim(lockLine(run))}`);
  }
}

/** One traced statement as one line: `#2 ALTER TABLE … 12 ms: ACCESS EXCLUSIVE on accounts (held 14 ms); rewrote accounts`. */
export function formatTrace(trace: StatementTrace): string {
  const locks = trace.locks.map((l) => `${lockName(l.mode)} on ${l.relation} (held ${l.heldMs} ms)`).join(', ') || 'no table lock';
  const rewrote = trace.rewritten.length > 0 ? `; rewrote ${trace.rewritten.join(', ')}` : '';
  const b = trace.batches;
  const batches = b ? ` in ${b.count} batch${b.count === 1 ? '' : 'es'} (${b.rows} rows, longest ${b.longestMs} ms)` : '';
  return `${trace.migration} #${trace.statement ?? '-'} ${trace.sql.split('\n')[0]!.slice(0, 80)} ${Math.round(trace.durationMs)} ms${batches}: ${locks}${rewrote}`;
}

/** A lock retry (or the blockers found before a first attempt) for humans, on stderr. */
export function printLockEvent(terminal: Terminal, event: LockEvent): void {
  const where = `${event.migration}${event.statement === undefined ? '' : ` (statement ${event.statement})`}`;
  const head =
    event.type === 'lock-retry'
      ? `${terminal.color.yellow('Lock timeout:')} ${where}, attempt ${event.attempt} waited ${formatMs(event.lockTimeoutMs)}; retrying in ${formatMs(event.delayMs)}`
      : `${terminal.color.yellow('Blocked:')} ${where} needs locks these sessions hold (or may hold); trying in short attempts`;
  terminal.err(head);
  for (const b of event.blockers) terminal.err(`  ${describeBlocker(b)}`);
}
