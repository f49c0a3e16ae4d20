/**
 * `render(format, outcome)`: the one call a command makes to print its result as GitHub
 * annotations, SARIF, Markdown or JUnit. Builds the placed report (parsing each file again
 * for positions, paths relative to the repository root), then hands it to a pure renderer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { StatusResult } from '../status/check-status.js';
import type { DryRunResult } from '../deploy/dry-run.js';
import type { LintResult } from '../plan/lint.js';
import type { CiFormat } from './format.js';
import { githubFailure, githubFindings, githubStatus } from './formats/github.js';
import { junitFailure, junitFindings, junitStatus } from './formats/junit.js';
import { markdownFailure, markdownFindings, markdownStatus } from './formats/markdown.js';
import { sarifFailure, sarifFindings, sarifStatus } from './formats/sarif.js';
import { dryRunReport, lintReport, repoPath, statusView, type Report, type ToolInfo } from './report.js';

/** What a command computed, tagged with the command. */
export type ReportSource = { command: 'lint'; result: LintResult } | { command: 'dry-run'; result: DryRunResult } | { command: 'status'; result: StatusResult };

/** Where paths are relative to: the enclosing git checkout's root (what GitHub and SARIF resolve against), else `cwd`. */
export function repositoryRoot(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/** digilog-db's name and version, from its package.json (one folder above src/ or dist/, two above their output/). */
export function toolInfo(from: string = import.meta.url): ToolInfo {
  const require = createRequire(from);
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === '@digilog/db' && pkg.version) return { name: 'digilog-db', version: pkg.version };
    } catch {
      // Not this folder: try the next.
    }
  }
  return { name: 'digilog-db', version: '0.0.0' };
}

/** The placed report of an outcome. */
export async function buildReport(outcome: ReportSource, root: string, read: (path: string) => string = (path) => readFileSync(path, 'utf8')): Promise<Report> {
  if (outcome.command === 'lint') return lintReport(outcome.result, { root, read });
  if (outcome.command === 'dry-run') return dryRunReport(outcome.result, { root });
  return statusView(outcome.result, { root });
}

/** A report as the text of one format. Pure. */
export function renderReport(format: CiFormat, report: Report, tool: ToolInfo, migrationsDir = ''): string {
  if (report.kind === 'status') {
    if (format === 'github') return githubStatus(report);
    if (format === 'markdown') return markdownStatus(report);
    if (format === 'junit') return junitStatus(report);
    return `${JSON.stringify(sarifStatus(report, tool, migrationsDir), null, 2)}\n`;
  }
  if (format === 'github') return githubFindings(report);
  if (format === 'markdown') return markdownFindings(report);
  if (format === 'junit') return junitFindings(report);
  return `${JSON.stringify(sarifFindings(report, tool), null, 2)}\n`;
}

/** The outcome in a CI format, ready for stdout. `cwd` decides the repository root. */
export async function render(format: CiFormat, outcome: ReportSource, { cwd }: { cwd: string }): Promise<string> {
  const root = repositoryRoot(cwd);
  const report = await buildReport(outcome, root);
  const migrationsDir = outcome.command === 'status' ? repoPath(root, outcome.result.migrationsDir) : '';
  return renderReport(format, report, toolInfo(), migrationsDir);
}

/** A failed run in a CI format: stdout still holds one document of that format. */
export function renderFailure(format: CiFormat, error: { kind: string; message: string; hint?: string | undefined }, title = 'digilog-db'): string {
  if (format === 'github') return githubFailure(title, error.message, error.hint);
  if (format === 'markdown') return markdownFailure(title, error.message, error.hint);
  if (format === 'junit') return junitFailure(title, error.kind, error.message, error.hint);
  return `${JSON.stringify(sarifFailure(toolInfo(), 'digilog-db/failure', error.hint ? `${error.message} Next: ${error.hint}` : error.message), null, 2)}\n`;
}
