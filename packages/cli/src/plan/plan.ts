/**
 * The plan of a deploy: one Step per pending migration (its statements parsed
 * once with PostgreSQL's parser, classified, adjusted to the live database when
 * one is at hand, with the mode and limits it runs under), plus what the
 * production guard would block. Deploy walks the steps; `migrate --dry-run`,
 * `lint` and ensureMigrated() read the same plan.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { ACKNOWLEDGEMENTS_FILE, parseAcknowledgements, type Acknowledgements } from './acknowledgements.js';
import { applyContext, droppedColumns, type ContextFinding, type TableFacts } from './context.js';
import { classify, worstLevel, type Finding, type IndexTables } from './classify.js';
import { cannotRunInTransaction, executionModeOf, lineOf, parseStatements, splitLikePrisma, unendedTransaction, type ExecutionMode, type ParsedStatement } from './execution-mode.js';
import type { Level } from './rules.js';
import type { Migration } from '../read/migrations-folder.js';
import { readIndexTables, readTableFacts } from '../db/table-stats.js';
import { DigilogError } from '../errors.js';

/** A statement as the runner sends it: its text, where it starts in the file, and its parse tree (the online stages rewrite from it). */
export type PlannedStatement = ParsedStatement;

/** The session limits one migration runs under: its own `-- digilog:` values, else the configured ones (ms, 0 = none). */
export interface StepLimits {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** Expected duration; slower is reported. */
  budgetMs: number;
}

/** One pending migration, ready to run: what deploy walks, and what every report of a plan renders. */
export interface Step {
  migration: Migration;
  /** The file's statements, parsed once (empty when the parser rejects the file). */
  statements: PlannedStatement[];
  /** How the runner sends it (decided from this same parse). */
  mode: ExecutionMode;
  limits: StepLimits;
  findings: ContextFinding[];
  worst: Level;
  /** Set when PostgreSQL's parser rejects the file (the server will report the error when it runs). */
  parseError?: string;
}

export interface Plan {
  steps: Step[];
  counts: Record<Level, number>;
  /** Dangerous findings no file acknowledges: what the production guard refuses. */
  blocking: Array<{ migration: string; rule: string; statement: number; table: string | undefined; message: string }>;
  /** Whether the live database was consulted. */
  withContext: boolean;
}

/** The configured limits a file's directives override (ms, 0 = none). */
export const NO_LIMITS: StepLimits = { lockTimeoutMs: 0, statementTimeoutMs: 0, budgetMs: 0 };

export interface PlanOptions {
  /** A session on the target: enables the live-database context. */
  client?: pg.Client;
  schema?: string;
  largeTableRows: number;
  /** Defaults for each step's limits (lint, which runs nothing, leaves them out). */
  limits?: StepLimits;
  /** Rules acknowledged outside the files (digilog.acknowledgements, --allow). */
  acknowledgements?: Acknowledgements;
}

/** The acknowledgements file at the migrations folder's root; empty when there is none. */
export function readAcknowledgements(migrationsDir: string): Acknowledgements {
  const path = join(migrationsDir, ACKNOWLEDGEMENTS_FILE);
  return existsSync(path) ? parseAcknowledgements(readFileSync(path, 'utf8'), path) : new Map();
}

/** Marks the findings that the acknowledgements name. */
export function applyAcknowledgements(migration: string, findings: Finding[], acknowledgements: Acknowledgements | undefined): void {
  const rules = acknowledgements?.get(migration);
  if (rules) for (const f of findings) if (rules.has(f.rule)) f.acknowledged = true;
}

/** Whether an identifier appears as a whole word in (lower-cased) SQL text: comments and strings count, to stay on the safe side. */
function mentions(text: string, name: string): boolean {
  const escaped = name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9_$])${escaped}([^a-z0-9_$]|$)`).test(text);
}

/**
 * Marks DROP … IF EXISTS findings whose object does not exist in the live catalog and is not
 * named by any earlier statement of the deploy (which might create it): nothing will be dropped.
 */
async function markAbsentDrops(client: pg.Client, candidates: Finding[]): Promise<void> {
  if (candidates.length === 0) return;
  const quoted = candidates.map((f) => f.ifExists!.names.map((n) => `"${n.replace(/"/g, '""')}"`).join('.'));
  const result = await client.query<{ i: string; found: boolean }>(
    `SELECT i, CASE kind WHEN 'relation' THEN to_regclass(name) IS NOT NULL
                         WHEN 'type' THEN to_regtype(name) IS NOT NULL
                         ELSE EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = raw) END AS found
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(kind, name, raw, i)`,
    [candidates.map((f) => f.ifExists!.kind), quoted, candidates.map((f) => f.ifExists!.names.at(-1)!)],
  );
  for (const row of result.rows) if (!row.found) candidates[Number(row.i) - 1]!.absent = true;
}

/** Refuses a file whose `-- digilog:` comment could not be read (read once, in read/), naming the file. */
export function checkDirectives(migration: Migration): void {
  if (migration.directiveError === undefined) return;
  throw new DigilogError('usage', `Migration ${migration.name}: ${migration.directiveError}`, {
    hint: `Fix the comment in ${migration.path}.`,
    details: { migration: migration.name },
  });
}

/**
 * Refuses a file that mixes statements PostgreSQL cannot run in a transaction
 * (DROP INDEX CONCURRENTLY, VACUUM, …) with others, unless it opts in to
 * `-- digilog:no-transaction`: sent as one script it fails (as it does in Prisma,
 * prisma-engines #5847), and split silently it would lose atomicity without anyone
 * choosing that. A file whose only such statements are CREATE INDEX CONCURRENTLY is
 * split, as Prisma 7.4+ splits it (see splitLikePrisma), with a `non-atomic-file` finding.
 */
export function checkTransactionMix(migration: Migration, statements: ParsedStatement[]): void {
  if (migration.directives.noTransaction || splitLikePrisma(statements)) return;
  // BEGIN/COMMIT themselves are fine: a file may manage its own transactions.
  const outside = statements.filter((s) => s.nodeType !== 'TransactionStmt' && cannotRunInTransaction(s));
  // PostgreSQL runs a multi-statement script as one implicit transaction block, so
  // even a file with its own COMMIT before the CONCURRENTLY statement fails there.
  if (outside.length === 0 || statements.length === 1) return;
  throw new DigilogError('usage', `Migration ${migration.name} mixes ${outside[0]!.text.split(/\s+/).slice(0, 4).join(' ')}… (cannot run inside a transaction) with ${statements.length - 1} other statement(s); \`prisma migrate deploy\` fails on it too (SQLSTATE 25001)`, {
    hint: `Move it to a migration of its own, or add "-- digilog:no-transaction" to ${migration.path} to run its statements one by one (not atomic).`,
    details: { migration: migration.name },
  });
}

/**
 * Refuses a file that opens a transaction and never ends it: PostgreSQL would
 * commit nothing of it, and the runner's own bookkeeping, sent next on the same
 * connection, would be rolled back with it.
 */
export function checkTransactionBalance(migration: Pick<Migration, 'name' | 'path' | 'sql'>, statements: ParsedStatement[]): void {
  const open = unendedTransaction(statements);
  if (!open) return;
  const line = lineOf(migration.sql, open);
  const keyword = { TRANS_STMT_BEGIN: 'BEGIN', TRANS_STMT_START: 'START TRANSACTION', TRANS_STMT_COMMIT: 'COMMIT AND CHAIN', TRANS_STMT_ROLLBACK: 'ROLLBACK AND CHAIN' }[String(open.node.kind)] ?? 'BEGIN';
  throw new DigilogError('usage', `Migration ${migration.name} opens a transaction (${keyword} at ${migration.path}:${line}) and never ends it: nothing of it would be committed`, {
    hint: `Add COMMIT; at the end of ${migration.path}, or remove the BEGIN (each migration already runs in a transaction of its own).`,
    details: { migration: migration.name, line },
  });
}

/** Every check that makes migrate refuse a file before running it (lint runs the same ones). Throws `usage`. */
export function checkRunnable(migration: Migration, statements: ParsedStatement[]): void {
  checkTransactionBalance(migration, statements);
  checkTransactionMix(migration, statements);
}

/** Sets the table of each DROP INDEX whose index exists in the database (the deploy did not create it). */
async function findTablesOfDroppedIndexes(client: pg.Client, schema: string, findings: Finding[]): Promise<void> {
  const unresolved = findings.filter((f) => f.rule === 'drop-index' && f.table === undefined && f.index !== undefined);
  if (unresolved.length === 0) return;
  const tableOf = await readIndexTables(client, schema, [...new Set(unresolved.map((f) => f.index!))]);
  for (const finding of unresolved) finding.table = tableOf.get(finding.index!);
}

/** Plans the migrations in order; with a client, adjusts findings to the target's tables. Throws `usage` for a file migrate refuses. */
export async function planSteps(migrations: Migration[], options: PlanOptions): Promise<Plan> {
  // Every file's directives first (a bad one is reported before any parse error), then one file
  // at a time: its parse tree is dropped once classified. Holding all the trees until the last
  // file was parsed made the garbage collector copy them all (~10 ms per 100 files).
  for (const migration of migrations) checkDirectives(migration);
  const parsed: Array<Omit<Step, 'limits' | 'worst' | 'findings'> & { findings: Finding[] }> = [];
  // One map for the whole deploy: a DROP INDEX finds the table of an index an earlier pending file created.
  const indexTables: IndexTables = new Map();
  // The text of the deploy so far, to tell whether an earlier statement may create what a DROP … IF EXISTS names.
  const earlier: string[] = [];
  const absentCandidates: Finding[] = [];
  for (const migration of migrations) {
    try {
      const statements = await parseStatements(migration.sql);
      checkRunnable(migration, statements);
      const findings = classify(statements, migration.directives, indexTables);
      applyAcknowledgements(migration.name, findings, options.acknowledgements);
      for (const f of findings) {
        if (!f.ifExists || f.level === 'safe') continue;
        const name = f.ifExists.names.at(-1)!;
        const before = Buffer.from(migration.sql, 'utf8').subarray(0, statements[f.statement - 1]!.offset).toString('utf8').toLowerCase();
        if (!mentions(before, name) && !earlier.some((text) => mentions(text, name))) absentCandidates.push(f);
      }
      const mode = await executionModeOf(migration.sql, statements, migration.directives);
      parsed.push({ migration, statements, findings, mode });
    } catch (error) {
      if (error instanceof DigilogError) throw error;
      parsed.push({ migration, statements: [], findings: [], mode: await executionModeOf(migration.sql, null, migration.directives), parseError: (error as Error).message });
    }
    earlier.push(migration.sql.toLowerCase());
  }
  if (options.client) await markAbsentDrops(options.client, absentCandidates);
  if (options.client && options.schema) await findTablesOfDroppedIndexes(options.client, options.schema, parsed.flatMap((p) => p.findings));
  const touched = new Set<string>();
  for (const { findings } of parsed) for (const f of findings) if (f.table && f.rule !== 'create-table' && f.level !== 'safe') touched.add(f.table);
  const tables: Map<string, TableFacts> =
    options.client && options.schema ? await readTableFacts(options.client, options.schema, [...touched], options.largeTableRows, droppedColumns(parsed.flatMap((p) => p.findings))) : new Map();

  const createdEarlier = new Set<string>();
  const typesCreatedEarlier = new Set<string>();
  const defaults = options.limits ?? NO_LIMITS;
  const steps: Step[] = parsed.map((step) => {
    const adjusted = applyContext(step.findings, { tables, createdEarlier, typesCreatedEarlier, largeTableRows: options.largeTableRows });
    for (const f of step.findings) {
      if (f.rule === 'create-table' && f.table) createdEarlier.add(f.table);
      if (f.rule === 'create-enum' && f.type) typesCreatedEarlier.add(f.type);
    }
    const { directives } = step.migration;
    const limits: StepLimits = {
      lockTimeoutMs: directives.lockTimeoutMs ?? defaults.lockTimeoutMs,
      statementTimeoutMs: directives.statementTimeoutMs ?? defaults.statementTimeoutMs,
      budgetMs: directives.budgetMs ?? defaults.budgetMs,
    };
    return { ...step, findings: adjusted, worst: step.parseError ? 'care' : worstLevel(adjusted), limits };
  });
  const { counts, blocking } = tallySteps(steps);
  return { steps, counts, blocking, withContext: options.client !== undefined };
}

/** The plan's counts by level, and the Dangerous findings nothing acknowledges (what the production guard refuses). Pure. */
export function tallySteps(steps: Step[]): Pick<Plan, 'counts' | 'blocking'> {
  const counts: Record<Level, number> = { safe: 0, care: 0, dangerous: 0 };
  const blocking: Plan['blocking'] = [];
  for (const step of steps) {
    for (const f of step.findings) {
      counts[f.level] += 1;
      if (f.level === 'dangerous' && !f.acknowledged) blocking.push({ migration: step.migration.name, rule: f.rule, statement: f.statement, table: f.table, message: f.message });
    }
  }
  return { counts, blocking };
}

/**
 * How to let a reviewed Dangerous change through. Outside the file first: adding a comment
 * to a migration already applied elsewhere changes its checksum there (exit 7 everywhere).
 */
export function acknowledgeHint({ migration, rule }: { migration: string; rule: string }): string {
  return [
    `If this is intended, acknowledge it without editing the migration: add the line "${migration} ${rule}" to ${ACKNOWLEDGEMENTS_FILE} at the root of the migrations folder (commit it), or pass --allow ${migration}:${rule}.`,
    `A migration not applied anywhere yet may instead say "-- digilog:allow ${rule}" in its file; --allow-dangerous lets every Dangerous change through.`,
  ].join('\n');
}

/** Whether the production guard refuses this plan. Pure. */
export function isBlocked(plan: Plan, { production, allowDangerous }: { production: boolean; allowDangerous: boolean }): boolean {
  return production && !allowDangerous && plan.blocking.length > 0;
}

/** The production guard: throws `dangerous-blocked` (exit 4) before any statement runs. */
export function guardDangerous(plan: Plan, policy: { production: boolean; allowDangerous: boolean }): void {
  if (!isBlocked(plan, policy)) return;
  const list = plan.blocking.map((b) => `  ${b.migration} #${b.statement} [${b.rule}]${b.table ? ` "${b.table}"` : ''}: ${b.message}`).join('\n');
  throw new DigilogError('dangerous-blocked', `Refusing Dangerous changes in production (nothing was applied):\n${list}`, {
    hint: acknowledgeHint(plan.blocking[0]!),
    details: { blocking: plan.blocking },
  });
}
