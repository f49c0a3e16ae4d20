/**
 * The one shape the CI formats render: what `lint`, `migrate --dry-run` and `status`
 * found, with every finding placed on the line and column of its statement and every
 * path relative to the repository root. Built once per run (the files are parsed again
 * for positions); the renderers in formats/ are pure functions of it.
 */
import { relative, sep } from 'node:path';
import { readDirectives } from '../read/directives.js';
import type { Level } from '../plan/rules.js';
import type { StatusState } from '../status/diagnose.js';
import type { LintResult } from '../plan/lint.js';
import type { DryRunResult } from '../deploy/dry-run.js';
import type { StatusResult } from '../status/check-status.js';
import { locateStatements, placeParsed } from './locate.js';
import { skipComments, type Region } from './source-map.js';

/** One classifier finding, placed. */
export interface ReportFinding {
  rule: string;
  /** The level after the live database's context (dry run), else the rule's. */
  level: Level;
  ruleLevel: Level;
  message: string;
  lock: string;
  blocks: string;
  alternative?: string;
  table?: string;
  /** 1-based statement number in the file. */
  statement: number;
  /** The statement without the comments above it, shortened as the classifier shortens it. */
  sql: string;
  region: Region;
  /** `file`: `-- digilog:allow` in the migration; `outside`: digilog.acknowledgements or --allow. */
  acknowledged?: 'file' | 'outside';
  /** Dangerous and not acknowledged: the production guard (and lint) refuse it. */
  blocking: boolean;
  /** What the live database changed, and why. */
  context?: string;
}

/** One migration file. */
export interface ReportFile {
  name: string;
  /** Relative to the repository root, with forward slashes. */
  path: string;
  worst: Level;
  statements: number;
  mode?: string;
  findings: ReportFinding[];
  parseError?: { message: string; region: Region };
}

/** What `lint` or `migrate --dry-run` found. */
export interface FindingsReport {
  kind: 'lint' | 'dry-run';
  /** `digilog-db lint`, `digilog-db migrate --dry-run`. */
  title: string;
  files: ReportFile[];
  counts: Record<Level, number>;
  /** Dangerous findings not acknowledged. */
  blockingCount: number;
  /** The command fails on them (lint always; a dry run when the production guard is on). */
  blocked: boolean;
  database?: string;
  withContext?: boolean;
  warnings: string[];
}

/** One migration as `status` sees it. */
export interface StatusEntry {
  name: string;
  /** Its migration.sql relative to the repository root (also for one missing from disk: where it was). */
  path: string;
  state: 'applied' | 'pending' | 'failed' | 'edited' | 'missingFromDisk' | 'renamed' | 'running';
  /** One line saying what is wrong and what to do, when something is. */
  detail?: string;
  /** A warning that does not change the state (over budget, out of order). */
  note?: string;
}

/** What `status` found. */
export interface StatusView {
  kind: 'status';
  title: string;
  state: StatusState;
  summary: string;
  database: string;
  schema: string;
  entries: StatusEntry[];
  invalidIndexes: string[];
  lockHolder: string | null;
}

export type Report = FindingsReport | StatusView;

/** Tool facts every format names. */
export interface ToolInfo {
  name: string;
  version: string;
}

/** A path relative to the repository root, with forward slashes (what GitHub and SARIF expect). */
export function repoPath(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

interface FileInput {
  name: string;
  path: string;
  sql: string;
  worst: Level;
  statements?: number;
  mode?: string;
  /** The statements as the plan parsed them (offset, text): placed without parsing the file again. */
  parsed?: Array<{ offset: number; text: string }>;
  findings: Array<{ rule: string; level: Level; ruleLevel?: Level; message: string; lock: string; blocks: string; alternative?: string; table: string | undefined; statement: number; sql: string; acknowledged: boolean; context?: string }>;
  parseError?: string;
}

/** The rules a file's `-- digilog:allow` acknowledges (a bad directive acknowledges nothing: lint has refused it already). */
function acknowledgedInFile(sql: string): ReadonlySet<string> {
  try {
    return readDirectives(sql).allow;
  } catch {
    return new Set();
  }
}

async function placeFile(file: FileInput, root: string): Promise<ReportFile> {
  // A dry run's plan parsed each file already; lint's result holds no statements, so its files are parsed again.
  const located = file.parsed && file.parsed.length > 0 ? placeParsed(file.sql, file.parsed) : await locateStatements(file.sql);
  const inFile = acknowledgedInFile(file.sql);
  const fallback: Region = { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 };
  const findings = file.findings.map((f): ReportFinding => ({
    rule: f.rule,
    level: f.level,
    ruleLevel: f.ruleLevel ?? f.level,
    message: f.message,
    lock: f.lock,
    blocks: f.blocks,
    ...(f.alternative === undefined ? {} : { alternative: f.alternative }),
    ...(f.table === undefined ? {} : { table: f.table }),
    statement: f.statement,
    // The parser's range starts with the comments above the statement: the statement itself is what is shown and fingerprinted.
    sql: f.sql.slice(skipComments(f.sql, 0)) || f.sql,
    region: located.statements[f.statement - 1] ?? fallback,
    ...(f.acknowledged ? { acknowledged: inFile.has(f.rule) ? 'file' : 'outside' } : {}),
    blocking: f.level === 'dangerous' && !f.acknowledged,
    ...(f.context === undefined ? {} : { context: f.context }),
  }));
  const parseError = file.parseError === undefined ? undefined : { message: file.parseError, region: located.parseError?.region ?? fallback };
  return {
    name: file.name,
    path: repoPath(root, file.path),
    worst: file.worst,
    statements: file.statements ?? located.statements.length,
    ...(file.mode === undefined ? {} : { mode: file.mode }),
    findings,
    ...(parseError ? { parseError } : {}),
  };
}

/** `lint`'s result, placed. `read` gives a file's text (the lint result holds only paths). */
export async function lintReport(result: LintResult, { root, read }: { root: string; read: (path: string) => string }): Promise<FindingsReport> {
  const files = [];
  for (const file of result.files) files.push(await placeFile({ ...file, sql: read(file.path) }, root));
  return { kind: 'lint', title: 'digilog-db lint', files, counts: result.counts, blockingCount: result.blocking, blocked: result.blocking > 0, warnings: [] };
}

/** `migrate --dry-run`'s result, placed. */
export async function dryRunReport(result: DryRunResult, { root }: { root: string }): Promise<FindingsReport> {
  const files = [];
  for (const step of result.plan.steps) {
    const { name, path, sql } = step.migration;
    files.push(await placeFile({ name, path, sql, worst: step.worst, statements: step.statements.length, parsed: step.statements, mode: step.mode, findings: step.findings, ...(step.parseError === undefined ? {} : { parseError: step.parseError }) }, root));
  }
  return {
    kind: 'dry-run',
    title: 'digilog-db migrate --dry-run',
    files,
    counts: result.plan.counts,
    blockingCount: result.plan.blocking.length,
    blocked: result.blocked,
    database: result.database,
    withContext: result.plan.withContext,
    warnings: result.warnings,
  };
}

/** `status`'s result as one entry per migration, on disk or in the database. */
export function statusView(status: StatusResult, { root }: { root: string }): StatusView {
  const pathOf = (name: string) => repoPath(root, `${status.migrationsDir}${sep}${name}${sep}migration.sql`);
  // One entry per name: a problem (edited, failed, …) replaces the plain "applied" of the same migration.
  const byName = new Map<string, StatusEntry>();
  const notes = new Map<string, string>();
  for (const slow of status.slow) notes.set(slow.name, `took ${(slow.durationMs / 1000).toFixed(1)} s, over its budget of ${(slow.budgetMs / 1000).toFixed(1)} s`);
  for (const name of status.outOfOrder) notes.set(name, 'older than the newest applied migration');
  const add = (name: string, state: StatusEntry['state'], detail?: string) =>
    byName.set(name, { name, path: pathOf(name), state, ...(detail === undefined ? {} : { detail }), ...(notes.has(name) ? { note: notes.get(name)! } : {}) });
  for (const a of status.applied) add(a.name, 'applied');
  for (const f of status.failed) add(f.name, 'failed', `failed (started ${f.startedAt.toISOString()}): fix it, then \`digilog-db resolve --rolled-back "${f.name}"\`, or \`digilog-db resolve --applied "${f.name}"\` if completed by hand`);
  for (const name of status.running) add(name, 'running', 'being applied by another runner right now');
  for (const e of status.edited) add(e.name, 'edited', `edited since it was applied: recorded checksum ${e.recordedChecksum}, file checksum ${e.fileChecksum}`);
  for (const name of status.missingFromDisk) add(name, 'missingFromDisk', 'applied, but not in the migrations folder');
  for (const r of status.renamed) add(r.to, 'renamed', `is ${r.from} (applied) under a new name: \`digilog-db resolve --applied "${r.to}"\` records the rename`);
  for (const { name } of status.pending) add(name, 'pending', 'not applied yet: run `digilog-db migrate`');
  // Prisma's order: by name, which is the order migrations apply in.
  const entries = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const holder = status.lockHolder;
  return {
    kind: 'status',
    title: 'digilog-db status',
    state: status.state,
    summary: status.summary,
    database: status.database,
    schema: status.schema,
    entries,
    invalidIndexes: status.invalidIndexes,
    lockHolder: holder ? `process ${holder.pid} (${holder.applicationName ?? 'unknown'})` : null,
  };
}
