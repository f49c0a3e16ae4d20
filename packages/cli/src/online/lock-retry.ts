/**
 * Safe lock acquisition: a statement that must wait for a lock waits at most
 * one short attempt (the session's lock_timeout), so the application's
 * queries, which queue behind its lock request, are held for at most that
 * long; then it steps back, lets them through, and tries again with jittered
 * backoff until a total budget runs out (strong_migrations' lock-timeout
 * retries, pgroll's backoff). Before each attempt the blockers are looked up
 * and reported. A transactional migration rolled back whole, so it is retried
 * whole; a statement-by-statement one resumes at the statement that timed out.
 */
import type pg from 'pg';
import type { ExecuteSql, StartedStep } from '../apply/apply-step.js';
import type { MigrationHistory } from '../db/history.js';
import type { ExecutionMode } from '../plan/execution-mode.js';
import type { PlannedStatement } from '../plan/plan.js';
import { formatDuration } from '../read/directives.js';
import { DigilogError } from '../errors.js';
import { blockersCommand, definiteBlockers, describeBlocker, findBlockers, LONG_RUNNING_MS, type Blocker } from './blockers.js';
import type { Tracer } from './trace.js';
import { strongestMode, strongestPerRelation, whatItBlocks, type LockNeed } from '../plan/locks.js';
import { backoffMs, serverLockTimeoutMs } from './attempt-timing.js';

/** How long one attempt may wait for its locks, and for how long attempts may be repeated. */
export interface LockRetryPolicy {
  /** lock_timeout of one attempt (ms; 0 = wait without limit, so never retried). */
  attemptTimeoutMs: number;
  /** A new attempt may start until this long after the first one started (ms; 0 = no retry). */
  budgetMs: number;
}

/** Emitted when the blockers found before a first attempt would stop it. */
export interface LockBlockersEvent {
  type: 'lock-blockers';
  migration: string;
  /** 1-based statement of a statement-by-statement migration; undefined for a whole migration. */
  statement: number | undefined;
  blockers: Blocker[];
}

/** Emitted for each retry after a lock timeout. */
export interface LockRetryEvent {
  type: 'lock-retry';
  migration: string;
  statement: number | undefined;
  /** The attempt that timed out (1 = the first). */
  attempt: number;
  /** Time since the first attempt started (ms). */
  waitedMs: number;
  /** The pause before the next attempt (ms). */
  delayMs: number;
  lockTimeoutMs: number;
  blockers: Blocker[];
}

export type LockEvent = LockBlockersEvent | LockRetryEvent;

/** What lock retrying did for one migration (in its --json result). */
export interface LockRetrySummary {
  lockRetries: number;
  /** Time spent in attempts that timed out and in the pauses between them (ms). */
  lockRetryWaitMs: number;
}

/** The retry stage of one migration: the executor to apply it with, and what it did. */
export interface StepRetry {
  execute: ExecuteSql;
  summary(): LockRetrySummary;
  /** Adds the blockers, the attempts and the command to see the blockers again to a failure. */
  explain(error: unknown): unknown;
}

export interface StepRetryContext {
  history: MigrationHistory;
  started: StartedStep;
  schema: string;
  policy: LockRetryPolicy;
  emit: (event: LockEvent) => void;
  /** SIGTERM during a pause: a whole migration stops cleanly (nothing of it ran) instead of trying again. */
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** `--trace`: each statement is sent through it. */
  tracer?: Tracer;
  /** Tables this deploy creates (see LockedSend.newRelations). */
  newRelations?: ReadonlySet<string>;
}

/** The step as the retry stage needs it: its name, how it runs, and its parsed statements (null when unparsed). */
export interface RetryStep {
  name: string;
  mode: ExecutionMode;
  /** The plan's statements; null when the parser rejected the file. */
  statements: PlannedStatement[] | null;
}

const sleepFor = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Whether a failed run of this migration (or statement) left nothing behind, so running it again
 * is safe: a transactional script rolled back whole; an as-written file only when it is one
 * statement or one BEGIN … COMMIT block (several blocks may have committed the first ones).
 */
export function retryScope(step: RetryStep): 'whole' | 'statement' | 'none' {
  if (step.mode === 'transactional') return 'whole';
  if (step.mode === 'statement-by-statement') return 'statement';
  const statements = step.statements ?? [];
  const body = statements.filter((s) => s.nodeType !== 'TransactionStmt');
  const control = statements.filter((s) => s.nodeType === 'TransactionStmt');
  if (control.length === 0 && body.length <= 1) return 'whole';
  const oneBlock =
    control.length === 2 &&
    ['TRANS_STMT_BEGIN', 'TRANS_STMT_START'].includes(statements[0]?.transactionKind ?? '') &&
    statements.at(-1)?.transactionKind === 'TRANS_STMT_COMMIT' &&
    !body.some((s) => s.outsideTransaction);
  return oneBlock ? 'whole' : 'none';
}

/** One statement (or script) sent with safe lock acquisition. */
export interface LockedSend {
  migration: string;
  statement: number | undefined;
  /** The locks it requests, for the blocker search. */
  needs: LockNeed[];
  /** Whether its lock requests stop queries (a SHARE UPDATE EXCLUSIVE one stops none). */
  blocksTraffic: boolean;
  /** Whether running it again after a timeout is safe. */
  retries: boolean;
  schema: string;
  policy: LockRetryPolicy;
  emit: (event: LockEvent) => void;
  /** The pause between two attempts (sleeps; may also put bookkeeping right). */
  pause: (delayMs: number) => Promise<void>;
  /**
   * Relations this deploy creates: no other session can hold a lock on them yet, so the first attempt
   * skips the blocker search for them (it cost a round trip and a pg_locks scan per statement of
   * every new table); after a timeout every need is searched.
   */
  newRelations?: ReadonlySet<string>;
  /** Called with the last attempt's facts when it gives up. */
  onGiveUp?: (last: { attempts: number; waitedMs: number; blockers: Blocker[]; needs: LockNeed[] }) => void;
}

/**
 * Sends `run` (SQL text, or a function that sends it), looking for blockers before each attempt; after a lock timeout it pauses and tries
 * again while the budget lasts. Throws the server's 55P03, its message naming the blockers, when it gives up.
 */
export async function sendWithLockRetry(client: pg.Client, run: string | (() => Promise<unknown>), spec: LockedSend): Promise<{ result: unknown; retries: number; retryWaitMs: number }> {
  const { policy, needs } = spec;
  const search = { schema: spec.schema, longRunningMs: LONG_RUNNING_MS };
  const retries = spec.retries && policy.attemptTimeoutMs > 0 && policy.budgetMs > 0;
  const first = performance.now();
  const send = typeof run === 'string' ? () => client.query(run) : run;
  // A statement whose lock blocks no query (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT) queues
  // nobody while it waits: one long attempt, for the whole budget, beats rebuilding after each timeout.
  // Only where another session can hold such a lock at all: a statement that locks nothing existing
  // (CREATE TYPE, or an index on a table this deploy creates) runs as it is, without the two
  // round trips that set lock_timeout for the long attempt and put it back.
  const unknownBefore = spec.newRelations ? needs.filter((n) => !spec.newRelations!.has(n.name)) : needs;
  const longAttempt = !spec.blocksTraffic && retries && policy.budgetMs > policy.attemptTimeoutMs && unknownBefore.length > 0;
  for (let attempt = 1; ; attempt++) {
    const searched = attempt === 1 ? unknownBefore : needs;
    const blockers = searched.length > 0 ? await findBlockers(client, searched, search) : [];
    if (attempt === 1 && definiteBlockers(blockers).length > 0) spec.emit({ type: 'lock-blockers', migration: spec.migration, statement: spec.statement, blockers });
    try {
      const result = longAttempt ? await withLockTimeout(client, policy.budgetMs, serverLockTimeoutMs(policy.attemptTimeoutMs), send) : await send();
      return { result, retries: attempt - 1, retryWaitMs: attempt > 1 ? Math.round(performance.now() - first) : 0 };
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      const waitedMs = performance.now() - first;
      const now = needs.length > 0 ? await findBlockers(client, needs, search).catch(() => blockers) : [];
      const last = { attempts: attempt, waitedMs, blockers: now, needs };
      if (!retries || longAttempt || waitedMs >= policy.budgetMs) {
        spec.onGiveUp?.(last);
        throw annotate(error, last, policy);
      }
      const delayMs = Math.min(backoffMs(attempt), Math.max(0, policy.budgetMs - waitedMs));
      spec.emit({ type: 'lock-retry', migration: spec.migration, statement: spec.statement, attempt, waitedMs: Math.round(waitedMs), delayMs, lockTimeoutMs: policy.attemptTimeoutMs, blockers: now });
      await spec.pause(delayMs);
    }
  }
}

/** Runs fn with the session's lock_timeout at `ms`, then puts `restore` back. */
async function withLockTimeout<T>(client: pg.Client, ms: number, restore: number, fn: () => Promise<T>): Promise<T> {
  await client.query(`SELECT set_config('lock_timeout', $1, false)`, [String(ms)]);
  try {
    return await fn();
  } finally {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [String(restore)]).catch(() => {});
  }
}

/** Creates the retry stage for one started migration. */
export function lockRetryFor(step: RetryStep, context: StepRetryContext): StepRetry {
  const { policy, emit } = context;
  const sleep = context.sleep ?? sleepFor;
  const scope = retryScope(step);
  let lockRetries = 0;
  let lockRetryWaitMs = 0;
  let last: Parameters<NonNullable<LockedSend['onGiveUp']>>[0] | undefined;

  const needsAt = (statement: number | undefined): { needs: LockNeed[]; blocksTraffic: boolean } => {
    const statements = statement === undefined ? (step.statements ?? []) : [step.statements?.[statement - 1]].filter((s): s is PlannedStatement => s !== undefined);
    // Unparsed or procedural code: which locks it takes is unknown, so assume the worst.
    const unknown = step.statements === null || statements.some((s) => s.nodeType === 'DoStmt');
    const needs = strongestPerRelation(statements.flatMap((s) => s.locks));
    return { needs, blocksTraffic: unknown || whatItBlocks(strongestMode(needs)) !== 'nothing' };
  };

  const execute: ExecuteSql = async (client, text, at) => {
    const { needs, blocksTraffic } = needsAt(at.statement);
    const tracer = context.tracer;
    const outcome = await sendWithLockRetry(client, tracer ? () => tracer.run(client, text, { migration: step.name, statement: at.statement }) : text, {
      migration: step.name,
      statement: at.statement,
      needs,
      blocksTraffic,
      retries: scope !== 'none',
      schema: context.schema,
      policy,
      emit,
      pause: (delayMs) => pause(client, delayMs, scope === 'whole'),
      ...(context.newRelations ? { newRelations: context.newRelations } : {}),
      onGiveUp: (info) => (last = info),
    });
    lockRetries += outcome.retries;
    lockRetryWaitMs += outcome.retryWaitMs;
    return outcome.result;
  };

  /**
   * Between two attempts of a whole migration nothing of it is applied, so its "started" row is
   * removed and written again just before the next attempt: a runner killed during the pause
   * leaves no failed row behind, and a SIGTERM then stops the run cleanly (exit 11).
   */
  async function pause(client: pg.Client, delayMs: number, whole: boolean): Promise<void> {
    if (!whole) return sleep(delayMs);
    const { history, started } = context;
    // An as-written BEGIN … COMMIT block that timed out leaves its transaction aborted.
    await client.query('ROLLBACK').catch(() => {});
    await history.forgetUnstarted(started.id);
    await sleep(delayMs, context.signal);
    if (context.signal?.aborted) {
      throw new DigilogError('interrupted', `Stopped by a signal while ${started.step.migration.name} waited to retry its locks; nothing of it was applied`, {
        hint: 'Nothing is half-applied. Run `digilog-db migrate` again to continue.',
        details: { migration: started.step.migration.name, notStarted: [started.step.migration.name] },
      });
    }
    await client.query(history.startSql(started.id, started.step.migration.name, started.step.migration.checksum));
  }

  return {
    execute,
    summary: () => ({ lockRetries, lockRetryWaitMs: Math.round(lockRetryWaitMs) }),
    explain(error) {
      if (!(error instanceof DigilogError) || error.details.sqlState !== '55P03' || !last) return error;
      const relations = [...new Set(last.blockers.flatMap((b) => (b.relation ? [b.relation] : [])))];
      const command = blockersCommand(relations.length > 0 ? relations : last.needs.map((n) => (n.schema ? `${n.schema}.${n.name}` : n.name)).map(quoteRelation));
      const who = last.blockers.length > 0 ? `Blocked by:\n${last.blockers.map((b) => `  ${describeBlocker(b)}`).join('\n')}\n` : 'No blocking session was visible when it gave up (it may have ended, or this role cannot see it).\n';
      const tries = `${last.attempts} attempt${last.attempts === 1 ? '' : 's'} of lock_timeout (${formatDuration(policy.attemptTimeoutMs)}) over ${(last.waitedMs / 1000).toFixed(1)} s, retry budget ${formatDuration(policy.budgetMs)}`;
      return new DigilogError(error.kind, error.message, {
        prismaCode: error.prismaCode,
        hint:
          `It waited for a lock another session holds on a table it changes (${tries}); between attempts it stepped back so that traffic did not queue behind it.\n${who}` +
          `See them again: ${command}\nEnd them (SELECT pg_terminate_backend(<pid>)) or wait, or raise the budget (--lock-retry-budget, DIGILOG_LOCK_RETRY_BUDGET) or the attempt ("-- digilog:lock-timeout 5s").\n` +
          `Then: digilog-db resolve --rolled-back "${step.name}" && digilog-db migrate`,
        details: { ...error.details, lockRetry: { attempts: last.attempts, waitedMs: Math.round(last.waitedMs), attemptTimeoutMs: policy.attemptTimeoutMs, budgetMs: policy.budgetMs, blockers: last.blockers, command } },
        cause: error,
      });
    },
  };
}

/** `"User"` stays `"User"`; a plain name is quoted so ::regclass finds mixed case. */
function quoteRelation(name: string): string {
  return name
    .split('.')
    .map((part) => (part.startsWith('"') ? part : `"${part.replace(/"/g, '""')}"`))
    .join('.');
}

/** The server's lock-timeout error, its message extended with the attempts and the blockers (it goes into the recorded logs). */
function annotate(error: unknown, last: { attempts: number; waitedMs: number; blockers: Blocker[] }, policy: LockRetryPolicy): unknown {
  const e = error as Error;
  const tries = last.attempts > 1 ? `gave up after ${last.attempts} attempts over ${(last.waitedMs / 1000).toFixed(1)} s (lock_timeout ${formatDuration(policy.attemptTimeoutMs)} each, retry budget ${formatDuration(policy.budgetMs)})` : `lock_timeout ${formatDuration(policy.attemptTimeoutMs)}, no retry`;
  const who = last.blockers.length > 0 ? `; blocked by ${last.blockers.map(describeBlocker).join('; ')}` : '';
  e.message = `${e.message} (${tries}${who})`;
  return e;
}
