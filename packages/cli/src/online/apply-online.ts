/**
 * Runs one migration in its online form: unit after unit, each committed on
 * its own together with the progress record in its `_prisma_migrations` row,
 * each sent with safe lock acquisition. Every unit can be run again after a
 * crash: a transaction unit committed with its progress (or not at all), a
 * concurrent index is checked first (valid: done; INVALID: dropped and built
 * again), a batched UPDATE resumes after the last key it recorded.
 */
import type pg from 'pg';
import { parseStatements } from '../plan/execution-mode.js';
import { describeScriptError, type ServerErrorFields } from '../apply/sql-error.js';
import type { AppliedResult, StartedStep } from '../apply/apply-step.js';
import { isConnectionLoss, lostConnectionDuring } from '../db/connect.js';
import type { MigrationHistory } from '../db/history.js';
import { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { primaryKeyOf, runBatches, type BatchCursor } from './backfill.js';
import { quoteIdent } from './deparse.js';
import { sendWithLockRetry, type LockEvent, type LockRetryPolicy } from './lock-retry.js';
import { lockNeedsOf, strongestMode, strongestPerRelation, whatItBlocks } from '../plan/locks.js';
import { finishOnlineSql, progressLogs, progressSql, type OnlineProgress } from './progress.js';
import type { OnlinePlan, OnlineUnit } from './rewrite.js';
import type { Tracer } from './trace.js';
import type { TracedBatch } from '../apply/statement-trace.js';
import { quoteLiteral } from '../config/target.js';

/** Emitted as each unit of an online migration commits. */
export interface OnlineUnitEvent {
  type: 'online-unit';
  migration: string;
  unit: number;
  units: number;
  kind: OnlineUnit['kind'];
  /** Skipped: its effect was already there (a rerun after a crash). */
  skipped: boolean;
  durationMs: number;
}

export interface OnlineRunOptions {
  history: MigrationHistory;
  schema: string;
  policy: LockRetryPolicy;
  batchSize: number;
  batchPauseMs: number;
  emit: (event: LockEvent | OnlineUnitEvent) => void;
  /** Progress of an interrupted earlier run of this same migration (its row is `started.id`). */
  resume?: OnlineProgress;
  /** `--trace`: each step's statements are sent through it; a batched UPDATE's batches are traced as its one statement. */
  tracer?: Tracer;
  /** Test-only: called before each unit runs (1-based), to stop the runner at an exact point. */
  beforeUnit?: (unit: number) => Promise<void> | void;
}

/** Applies a started migration in its online form; the next migration's "started" row commits with the last unit. */
export async function applyOnline(
  client: pg.Client,
  started: StartedStep,
  next: StartedStep | undefined,
  plan: OnlinePlan,
  options: OnlineRunOptions,
): Promise<{ result: AppliedResult; next: StartedStep | undefined }> {
  const { history } = options;
  const { step: { migration }, id } = started;
  const t0 = performance.now();
  const units = plan.units.length;
  let progress: OnlineProgress = options.resume ?? { checksum: migration.checksum, units, done: 0 };
  let retries = 0;
  let retryWaitMs = 0;
  const tail = [finishOnlineSql(history, id), ...(next ? [history.startSql(next.id, next.step.migration.name, next.step.migration.checksum)] : [])].join(';\n');
  const record = (p: OnlineProgress) => progressSql(history, id, migration.name, p);
  const send = async (unit: OnlineUnit, run: string | (() => Promise<unknown>), { retries: retryable = true, sql = unit.pieces.map((p) => p.sql) } = {}) => {
    const needs = strongestPerRelation((await Promise.all(sql.map(parseStatements))).flat().flatMap(lockNeedsOf));
    const tracer = options.tracer;
    const traced = tracer && typeof run === 'string' ? () => tracer.run(client, run, { migration: migration.name, statement: unit.from[0], numbers: unit.pieces.map((p) => p.statement) }) : run;
    const outcome = await sendWithLockRetry(client, traced, {
      migration: migration.name,
      statement: unit.from[0],
      needs,
      blocksTraffic: whatItBlocks(strongestMode(needs)) !== 'nothing',
      retries: retryable,
      schema: options.schema,
      policy: options.policy,
      emit: options.emit,
      pause: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    retries += outcome.retries;
    retryWaitMs += outcome.retryWaitMs;
  };

  let current: OnlineUnit | undefined;
  try {
    // Recorded before the first step, so even a crash inside it leaves a row `migrate --online` continues.
    if (!options.resume) await client.query(record(progress));
    for (let u = progress.done; u < units; u++) {
      const unit = (current = plan.units[u]!);
      await options.beforeUnit?.(u + 1);
      const began = performance.now();
      const after: OnlineProgress = { checksum: progress.checksum, units, done: u + 1 };
      const last = u === units - 1;
      let skipped = false;
      if (unit.kind === 'transaction') {
        // Pieces and progress in one simple query: one implicit transaction, committed or not at all.
        await send(unit, [...unit.pieces.map((p) => p.sql), record(after), ...(last ? [tail] : [])].join(';\n'));
      } else if (unit.kind === 'concurrently') {
        skipped = await buildIndexConcurrently(client, unit, options.schema, (run, sql) => send(unit, run, { sql: [sql] }));
        await client.query([record(after), ...(last ? [tail] : [])].join(';\n'));
      } else {
        const backfill = unit.backfill!;
        const key = await primaryKeyOf(client, backfill, options.schema);
        if (key.length === 0) {
          // No key to batch over: the statement runs whole, in its own transaction.
          await send(unit, [unit.pieces[0]!.sql, record(after), ...(last ? [tail] : [])].join(';\n'));
        } else {
          const batches: TracedBatch[] | undefined = options.tracer ? [] : undefined;
          await runBatches(client, backfill, key, progress.batch, {
            schema: options.schema,
            batchSize: options.batchSize,
            pauseMs: options.batchPauseMs,
            sendBatch: (sql, params, stateAfter) => sendBatch(client, sql, params, (result) => {
              const state = stateAfter(result);
              return { state, sql: record({ ...progress, batch: state }) };
            }, (run) => send(unit, run), options.tracer && batches ? { tracer: options.tracer, batches } : undefined),
          });
          await client.query([record(after), ...(last ? [tail] : [])].join(';\n'));
          if (batches) options.tracer!.recordBatches({ migration: migration.name, statement: unit.from[0] }, unit.pieces[0]!.sql, performance.now() - began, batches);
        }
      }
      progress = after;
      options.emit({ type: 'online-unit', migration: migration.name, unit: u + 1, units, kind: unit.kind, skipped, durationMs: Math.round(performance.now() - began) });
    }
  } catch (error) {
    if (isConnectionLoss(error)) throw lostConnectionDuring(migration.name, false, error);
    await client.query('ROLLBACK').catch(() => {});
    const described = describeScriptError(current?.pieces.map((p) => p.sql).join(';\n') ?? '', error as ServerErrorFields);
    // The progress line stays last, so `migrate --online` can still continue from it.
    const logs = redact(`${described.logs}\n${progressLogs(migration.name, progress)}`);
    await client.query(`UPDATE ${history.table} SET logs = ${quoteLiteral(logs)} WHERE id = ${quoteLiteral(id)}`).catch(() => {});
    throw new DigilogError('migration-sql', `Migration ${migration.name} failed to apply (online step ${progress.done + 1} of ${units}): ${redact(described.message)}`, {
      prismaCode: 'P3018',
      hint: `Steps 1 to ${progress.done} of its online form are applied. Fix the cause, then run \`digilog-db migrate --online\` again: it continues from step ${progress.done + 1}.`,
      details: { migration: migration.name, sqlState: described.sqlState, onlineStep: progress.done + 1, onlineSteps: units, logs },
    });
  }
  return {
    result: { name: migration.name, mode: 'statement-by-statement', onlineSteps: units, durationMs: performance.now() - t0, lockRetries: retries, lockRetryWaitMs: retryWaitMs },
    next,
  };
}

/** One batch and its progress in a transaction of their own; traced, its locks are read before its progress is written (that row is not the statement's). */
async function sendBatch<T>(
  client: pg.Client,
  sql: string,
  params: string[],
  then: (result: { updated: number; last: string[] | null }) => { state: T; sql: string },
  withRetry: (run: () => Promise<unknown>) => Promise<void>,
  trace?: { tracer: Tracer; batches: TracedBatch[] },
): Promise<T> {
  let outcome: T | undefined;
  await withRetry(async () => {
    await client.query('BEGIN');
    const began = performance.now();
    try {
      const result = (await client.query<{ updated: number; last: string[] | null }>(sql, params)).rows[0]!;
      const locks = trace ? await trace.tracer.heldBy(client) : [];
      const { state, sql: progress } = then(result);
      await client.query(progress);
      await client.query('COMMIT');
      trace?.batches.push({ ms: performance.now() - began, rows: result.updated, locks });
      outcome = state;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
  return outcome as T;
}

/**
 * CREATE INDEX CONCURRENTLY, made safe to run again: a valid index of that name means an earlier
 * run built it (skipped); an INVALID one is what an interrupted build leaves, dropped first.
 * Returns whether it was skipped.
 */
async function buildIndexConcurrently(client: pg.Client, unit: OnlineUnit, schema: string, send: (run: string, sql: string) => Promise<void>): Promise<boolean> {
  const index = unit.index;
  if (index) {
    const found = await client.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass(quote_ident($1) || '.' || quote_ident($2))`,
      [index.schema ?? schema, index.index],
    );
    if (found.rows[0]?.valid === true) return true;
    if (found.rows[0]?.valid === false) {
      const drop = `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(index.schema ?? schema)}.${quoteIdent(index.index)}`;
      await send(drop, drop);
    }
  }
  await send(unit.pieces[0]!.sql, unit.pieces[0]!.sql);
  return false;
}
