/**
 * The online stages as the deploy calls them: what one pending migration
 * becomes (`planOnline`), how the production guard judges it (`judgeOnline`),
 * which interrupted online migration a run continues (`resumableOnline`), and
 * applying one migration with lock retries, in its online form when asked
 * (`applyStep`). Small, typed entry points so the deploy's wiring stays a few lines.
 */
import { randomUUID } from 'node:crypto';
import type { ContextFinding } from '../plan/context.js';
import type { ParsedStatement } from '../plan/execution-mode.js';
import type { Level, RuleId } from '../plan/rules.js';
import type { Migration } from '../read/migrations-folder.js';
import type { StatusReport } from '../status/diagnose.js';
import { applyStep, type ApplyHooks, type AppliedResult, type StartedStep } from '../apply/apply-step.js';
import { tallySteps, type Plan, type Step } from '../plan/plan.js';
import { worstLevel } from '../plan/classify.js';
import type { Session } from '../db/session.js';
import { applyOnline, type OnlineUnitEvent } from './apply-online.js';
import { lockRetryFor, type LockEvent } from './lock-retry.js';
import { interruptedOnline, type InterruptedOnline } from './progress.js';
import { rewriteOnline, type OnlinePlan, type RewriteRule } from './rewrite.js';
import { parsedStatementsOf } from './step.js';
import type { Tracer } from './trace.js';
import { DigilogError } from '../errors.js';

/** The settings of the online stages (from RunnerOptions). */
export interface OnlineSettings {
  /** `migrate --online` / DIGILOG_ONLINE=true. */
  online: boolean;
  lockRetryBudgetMs: number;
  /** Rows per batch of a batched UPDATE, and the pause between two batches (ms). */
  batchSize: number;
  batchPauseMs: number;
}

/** The online form of each pending migration, by name (only with --online). */
export type OnlineForms = Map<string, OnlinePlan>;

/** Rewrites each planned migration (parsed again: the plan keeps no trees; an unparsable file stays as written). */
export async function planOnline(plan: Plan): Promise<OnlineForms> {
  const forms: OnlineForms = new Map();
  for (const step of plan.steps) {
    const statements = step.parseError === undefined ? await parsedStatementsOf(step.migration.sql) : null;
    if (statements) forms.set(step.migration.name, await rewriteOnline(statements, step.mode));
  }
  return forms;
}

/** What each rewrite makes of the rules it answers: the level of the statement that will run. */
const RUN_LEVEL: Partial<Record<RuleId, { rewrite: RewriteRule; level: Level | 'rule' }>> = {
  'create-index': { rewrite: 'index-concurrently', level: 'safe' },
  'add-unique-constraint': { rewrite: 'unique-using-index', level: 'safe' },
  'add-foreign-key': { rewrite: 'not-valid-then-validate', level: 'safe' },
  'add-check-constraint': { rewrite: 'not-valid-then-validate', level: 'safe' },
  'set-not-null': { rewrite: 'not-null-via-check', level: 'safe' },
  // Batches end the long transaction and its locked rows; the data change itself stays what it was.
  backfill: { rewrite: 'batched-update', level: 'rule' },
};

const CONTEXT: Record<RewriteRule, string> = {
  'index-concurrently': 'online: runs as CREATE INDEX CONCURRENTLY (SHARE UPDATE EXCLUSIVE: reads and writes go on)',
  'unique-using-index': 'online: the unique index is built concurrently, then attached (ADD CONSTRAINT … USING INDEX, a brief lock)',
  'not-valid-then-validate': 'online: added NOT VALID (brief lock), then validated under SHARE UPDATE EXCLUSIVE (writes go on)',
  'not-null-via-check': 'online: a CHECK NOT VALID is validated under SHARE UPDATE EXCLUSIVE, then SET NOT NULL uses it without a scan',
  'batched-update': 'online: runs in keyset batches, each its own short transaction',
};

/** The plan as the production guard sees it with --online: findings of rewritten statements judged as what runs. Pure. */
export function judgeOnline(plan: Plan, forms: OnlineForms): Plan {
  const steps = plan.steps.map((m): Step => {
    const form = forms.get(m.migration.name);
    if (!form?.rewritten) return m;
    const findings = m.findings.map((f): ContextFinding => {
      const rewrite = form.statements[f.statement - 1];
      const answer = RUN_LEVEL[f.rule];
      if (!rewrite?.rule || !answer || !rewrite.runs.length) return f;
      const level = answer.level === 'rule' ? f.ruleLevel : answer.level;
      return { ...f, level, context: CONTEXT[answer.rewrite] };
    });
    return { ...m, findings, worst: m.parseError ? m.worst : worstLevel(findings) };
  });
  return { ...plan, steps, ...tallySteps(steps) };
}

/**
 * The interrupted online migration this run continues: the only failed migration, whose row holds
 * progress recorded for the same file, and which sorts before every pending one (it was running).
 */
export async function resumableOnline(session: Session, report: Pick<StatusReport, 'failed' | 'pending'>, local: Migration[]): Promise<(InterruptedOnline & { migration: Migration }) | undefined> {
  if (report.failed.length !== 1) return undefined;
  const migration = local.find((m) => m.name === report.failed[0]!.name);
  if (!migration || (report.pending[0] !== undefined && report.pending[0].name < migration.name)) return undefined;
  const found = interruptedOnline(await session.history.readRows()).find((r) => r.name === migration.name);
  return found && found.progress.checksum === migration.checksum ? { ...found, migration } : undefined;
}

export interface StepOptions extends OnlineSettings {
  session: Session;
  emit: (event: LockEvent | OnlineUnitEvent) => void;
  signal?: AbortSignal;
  hooks?: ApplyHooks;
  /** The interrupted earlier run of this migration, when this run continues it. */
  resume?: InterruptedOnline;
  /** `--trace`: what PostgreSQL did for each statement goes into the result. */
  tracer?: Tracer;
  /** Tables the deploy's own steps create: their locks need no blocker search before a first attempt. */
  newRelations?: ReadonlySet<string>;
}

/** Applies one started step: with safe lock acquisition always, in its online form with --online. */
export async function runStep(current: StartedStep, next: Step | undefined, options: StepOptions): Promise<{ result: AppliedResult; next: StartedStep | undefined }> {
  const { session } = options;
  const { step } = current;
  const policy = { attemptTimeoutMs: step.limits.lockTimeoutMs, budgetMs: options.lockRetryBudgetMs };
  // The rewrite needs the parse tree, which the plan does not keep: parsed again only with --online.
  const trees: ParsedStatement[] | null = options.online && step.parseError === undefined ? await parsedStatementsOf(step.migration.sql) : null;
  const form = trees ? await rewriteOnline(trees, step.mode) : undefined;
  if (options.resume && (!form?.rewritten || form.units.length !== options.resume.progress.units)) {
    throw new DigilogError('failed-migration', `Migration ${step.migration.name} was interrupted in its online form of ${options.resume.progress.units} steps, and this digilog-db rewrites it differently`, {
      prismaCode: 'P3009',
      hint: `Complete it with the digilog-db version that started it, or check what of it is applied, then \`digilog-db resolve --applied "${step.migration.name}"\` (or --rolled-back).`,
      details: { migration: step.migration.name },
    });
  }
  if (form?.rewritten) {
    await options.hooks?.afterStartRecorded?.(step.migration.name);
    const applied = await applyOnline(session.client, current, next && { step: next, id: randomUUID() }, form, {
      history: session.history,
      schema: session.target.schema,
      policy,
      batchSize: options.batchSize,
      batchPauseMs: options.batchPauseMs,
      emit: options.emit,
      ...(options.resume ? { resume: options.resume.progress } : {}),
      ...(options.tracer ? { tracer: options.tracer } : {}),
      ...(options.hooks?.beforeOnlineStep ? { beforeUnit: (unit: number) => options.hooks!.beforeOnlineStep!(step.migration.name, unit) } : {}),
    });
    return { ...applied, result: withTrace(applied.result, options.tracer) };
  }
  const retry = lockRetryFor(
    { name: step.migration.name, mode: step.mode, statements: step.parseError === undefined ? step.statements : null },
    { history: session.history, started: current, schema: session.target.schema, emit: options.emit, policy, ...(options.signal ? { signal: options.signal } : {}), ...(options.tracer ? { tracer: options.tracer } : {}), ...(options.newRelations ? { newRelations: options.newRelations } : {}) },
  );
  const ran = await applyStep(session.client, session.history, current, next, options.hooks, retry.execute).catch((error: unknown) => {
    throw retry.explain(error);
  });
  return { result: withTrace({ ...ran.result, ...retry.summary() }, options.tracer), next: ran.next };
}

function withTrace(result: AppliedResult, tracer: Tracer | undefined): AppliedResult {
  return tracer ? { ...result, trace: tracer.traces.filter((t) => t.migration === result.name) } : result;
}
