/**
 * Applies one migration on the pinned, locked connection with Prisma's
 * bookkeeping: a "started" row first (so a crash leaves a visible failed
 * migration), then the script, then the "finished" record. In transactional
 * mode the finished record travels in the script's own implicit transaction,
 * so "script committed but not recorded" cannot happen.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ExecutionMode } from '../plan/execution-mode.js';
import type { Step } from '../plan/plan.js';
import { describeScriptError, type ServerErrorFields } from '../apply/sql-error.js';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { isConnectionLoss, lostConnectionDuring } from '../db/connect.js';
import type { MigrationHistory } from '../db/history.js';
import type { StatementTrace } from './statement-trace.js';
import { resolveApplied, resolveRolledBack } from '../status/next-steps.js';

export interface AppliedResult {
  name: string;
  mode: ExecutionMode;
  durationMs: number;
  /** The migration's expected duration (its `-- digilog:budget`, else the configured one; 0 = none). */
  budgetMs?: number;
  /** Took longer than budgetMs. */
  slow?: boolean;
  /** Lock timeouts retried (safe lock acquisition), and the time they cost (ms). */
  lockRetries?: number;
  lockRetryWaitMs?: number;
  /** Applied in its online form (`migrate --online`), in this many separately committed steps. */
  onlineSteps?: number;
  /** `--trace`: the locks, rewrites and duration of each statement, as PostgreSQL did them. */
  trace?: StatementTrace[];
}

/** How a script or statement is sent; the default is one simple query (online/lock-retry.ts supplies one that retries lock timeouts). */
export type ExecuteSql = (client: pg.Client, text: string, at: { statement: number | undefined }) => Promise<unknown>;

/** Test-only fault injection: lets reliability tests stop the runner at an exact point. */
export interface ApplyHooks {
  /** Called when a migration's "started" row is committed, just before its script runs. */
  afterStartRecorded?: (name: string) => Promise<void> | void;
  /** `--online`: called before each step of a migration's online form runs (1-based). */
  beforeOnlineStep?: (name: string, step: number) => Promise<void> | void;
}

/** A step whose migration's "started" row is already committed, ready to run. */
export interface StartedStep {
  step: Step;
  id: string;
}

/** Commits the "started" row of the first migration of a run. */
export async function recordStart(client: pg.Client, history: MigrationHistory, step: Step): Promise<StartedStep> {
  const id = randomUUID();
  await client.query(history.startSql(id, step.migration.name, step.migration.checksum));
  return { step, id };
}

/**
 * Runs a started migration. The "started" row of the next migration (if any)
 * is committed together with this one's "finished" record, so each migration
 * costs one transaction and one round trip in the common case, and the next
 * script never runs without its row already committed.
 * Returns the next started migration; throws `migration-sql` (P3018) after recording the failure.
 */
export async function applyStep(
  client: pg.Client,
  history: MigrationHistory,
  { step, id }: StartedStep,
  next: Step | undefined,
  hooks: ApplyHooks = {},
  /** How each script or statement is sent (the lock-retry stage wraps it); default: one simple query. */
  execute: ExecuteSql = (c, text) => c.query(text),
): Promise<{ result: AppliedResult; next: StartedStep | undefined }> {
  const { migration, mode } = step;
  await hooks.afterStartRecorded?.(migration.name);
  const nextId = randomUUID();
  const bookkeeping = [history.finishSql(id), ...(next ? [history.startSql(nextId, next.migration.name, next.migration.checksum)] : [])].join(';\n');
  const started = performance.now();
  let failedStatement = 0;
  let failingText = migration.sql;
  try {
    if (mode === 'transactional') {
      // One simple query = one implicit transaction: script and bookkeeping commit together.
      // The script comes first so the server's error positions point into it unchanged.
      await execute(client, `${migration.sql}\n;\n${bookkeeping}`, { statement: undefined });
    } else if (mode === 'as-written') {
      await execute(client, migration.sql, { statement: undefined });
      await refuseOpenTransaction(client);
      await client.query(bookkeeping);
    } else {
      // The plan's own parse; a file the parser rejected fails here as it would on the server.
      if (step.parseError !== undefined) throw new Error(step.parseError);
      for (const [index, statement] of step.statements.entries()) {
        failedStatement = index + 1;
        failingText = statement.text;
        await execute(client, statement.text, { statement: index + 1 });
      }
      await refuseOpenTransaction(client);
      await client.query(bookkeeping);
    }
  } catch (error) {
    // A lost connection is not a failed script: the outcome is unknown here (see lostConnectionDuring).
    if (isConnectionLoss(error)) throw lostConnectionDuring(migration.name, mode === 'transactional', error);
    // Stopped by a signal while waiting to retry its locks: nothing of it ran, and its row was removed.
    if (error instanceof DigilogError && error.kind === 'interrupted') throw error;
    // A script that opened its own transaction leaves it aborted; end it before recording.
    await client.query('ROLLBACK').catch(() => {});
    const described = describeScriptError(failingText, error as ServerErrorFields);
    const partial =
      mode === 'statement-by-statement' && failedStatement > 1
        ? `\nStatements 1 to ${failedStatement - 1} of this migration were applied (it runs without a transaction).\n`
        : mode === 'statement-by-statement'
          ? '\nNo statement of this migration was applied.\n'
          : '';
    const logs = redact(described.logs + partial);
    await history.recordFailure(id, logs).catch(() => {});
    throw new DigilogError('migration-sql', `Migration ${migration.name} failed to apply: ${redact(described.message)}`, {
      prismaCode: 'P3018',
      hint: failureHint(migration.name, mode),
      details: {
        migration: migration.name,
        sqlState: described.sqlState,
        line: described.line,
        column: described.column,
        failedStatement: mode === 'statement-by-statement' ? failedStatement : undefined,
        logs,
      },
    });
  }
  return {
    result: { name: migration.name, mode, durationMs: performance.now() - started },
    next: next ? { step: next, id: nextId } : undefined,
  };
}

/**
 * Where the connection stands between queries: PostgreSQL reports it in every ReadyForQuery
 * message, which pg 8.23 exposes as getTransactionStatus(); with an older pg, the server is asked.
 */
export async function transactionStatus(client: pg.Client): Promise<'idle' | 'open' | 'aborted'> {
  const status = (client as unknown as { getTransactionStatus?: () => string | null }).getTransactionStatus?.();
  if (status === 'I') return 'idle';
  if (status === 'T') return 'open';
  if (status === 'E') return 'aborted';
  try {
    // Inside a transaction block now() is the block's start, earlier than this statement's.
    const result = await client.query<{ idle: boolean }>('SELECT now() = statement_timestamp() AS idle');
    return result.rows[0]?.idle ? 'idle' : 'open';
  } catch (error) {
    if ((error as { code?: string }).code === '25P02') return 'aborted';
    throw error;
  }
}

/**
 * A script sent as written that leaves its own transaction open (or aborted) committed
 * nothing: recording it as finished inside that transaction would be rolled back with it,
 * while the run reports success. Fails the migration instead (the caller rolls back).
 */
async function refuseOpenTransaction(client: pg.Client): Promise<void> {
  const status = await transactionStatus(client);
  if (status === 'idle') return;
  throw new Error(`the script left a transaction ${status === 'open' ? 'open (BEGIN without COMMIT)' : 'aborted'}; nothing of it was committed and it was rolled back`);
}

function failureHint(name: string, mode: ExecutionMode): string {
  const undo =
    mode === 'transactional'
      ? 'Nothing of it was applied (it ran in one transaction).'
      : 'It ran outside a single transaction: check which of its changes were applied.';
  return `${undo} Fix the migration, then run \`${resolveRolledBack(name)}\` and \`digilog-db migrate\`; or, if you applied it by hand, \`${resolveApplied(name)}\`.`;
}
