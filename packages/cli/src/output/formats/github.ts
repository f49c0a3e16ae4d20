/**
 * GitHub Actions workflow commands (`::error file=…,line=…::message`): each risky statement
 * becomes an annotation on the line of migration.sql it comes from. Escaped as
 * @actions/core escapes them: `%`, CR and LF in messages; also `:` and `,` in properties.
 * Pure: a report in, the lines for stdout out.
 */
import type { FindingsReport, ReportFinding, StatusView } from '../report.js';
import type { Region } from '../source-map.js';
import { LEVEL_LABEL } from '../findings.js';

type Command = 'error' | 'warning' | 'notice';

/** A workflow command's message: `%`, CR and LF escaped (anything else is literal). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value: like a message, plus `:` and `,`, which end a property. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line; properties without a value are left out. */
export function workflowCommand(command: Command, properties: Record<string, string | number | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

/**
 * Where an annotation points. GitHub takes a start and an end column only on one line
 * (the Checks API's rule), so a statement over several lines gives its start column only.
 */
function place(file: string, region: Region): Record<string, string | number | undefined> {
  const oneLine = region.startLine === region.endLine;
  return {
    file,
    line: region.startLine,
    endLine: region.endLine,
    col: region.startColumn,
    endColumn: oneLine ? region.endColumn : undefined,
  };
}

function severity(finding: ReportFinding): Command {
  return finding.level === 'dangerous' && !finding.acknowledged ? 'error' : 'warning';
}

/** The text of one finding's annotation: what, the lock, the database's view, the safer way. */
export function findingText(f: ReportFinding, count = 1): string {
  const lines = [`${f.message}${f.table ? ` (${f.table})` : ''}${count > 1 ? ` ×${count}` : ''}; lock ${f.lock}, blocks ${f.blocks}.`];
  if (f.context) lines.push(`Database: ${f.context}.`);
  if (f.alternative) lines.push(`Safer: ${f.alternative}`);
  if (f.acknowledged) lines.push(f.acknowledged === 'file' ? 'Acknowledged in the file (-- digilog:allow).' : 'Acknowledged in digilog.acknowledgements or by --allow.');
  return lines.join('\n');
}

/** Annotations for lint / migrate --dry-run, then one summary notice (or error when blocked). */
export function githubFindings(report: FindingsReport): string {
  const out: string[] = [];
  for (const warning of report.warnings) out.push(workflowCommand('warning', { title: report.title }, warning));
  for (const file of report.files) {
    if (file.parseError) out.push(workflowCommand('warning', { ...place(file.path, file.parseError.region), title: `${file.name}: not parsed` }, `PostgreSQL's parser rejects this file: ${file.parseError.message}`));
    // One statement hitting one rule twice (ALTER TABLE … a TYPE …, b TYPE …) is one annotation, counted.
    const grouped = new Map<string, { finding: ReportFinding; count: number }>();
    for (const f of file.findings) {
      if (f.level === 'safe') continue;
      const key = `${f.statement}/${f.rule}/${f.table ?? ''}/${f.level}/${f.acknowledged ?? ''}`;
      const seen = grouped.get(key);
      if (seen) seen.count += 1;
      else grouped.set(key, { finding: f, count: 1 });
    }
    for (const { finding, count } of grouped.values()) {
      out.push(workflowCommand(severity(finding), { ...place(file.path, finding.region), title: `${LEVEL_LABEL[finding.level]} [${finding.rule}]: ${file.name} #${finding.statement}` }, findingText(finding, count)));
    }
  }
  const { counts } = report;
  const summary = `${report.files.length} file(s): ${counts.dangerous} dangerous, ${counts.care} requiring care, ${counts.safe} safe statement(s)`;
  if (report.blocked) out.push(workflowCommand('error', { title: report.title }, `${summary}. Blocked: ${report.blockingCount} Dangerous change(s) not acknowledged (add "<migration> <rule>" to digilog.acknowledgements, or pass --allow <migration>:<rule>).`));
  else out.push(workflowCommand('notice', { title: report.title }, `${summary}.`));
  return `${out.join('\n')}\n`;
}

const STATUS_COMMAND: Record<StatusView['entries'][number]['state'], Command | undefined> = {
  applied: undefined,
  pending: 'notice',
  running: 'notice',
  failed: 'error',
  edited: 'error',
  missingFromDisk: 'error',
  renamed: 'error',
};

/** Annotations for status: an error on each failed, edited, renamed or missing migration, notices for pending ones. */
export function githubStatus(view: StatusView): string {
  const out: string[] = [];
  for (const entry of view.entries) {
    const command = STATUS_COMMAND[entry.state];
    // A migration missing from disk has no file to point at.
    const file = entry.state === 'missingFromDisk' ? undefined : entry.path;
    if (command) out.push(workflowCommand(command, { file, line: file ? 1 : undefined, title: `${entry.name}: ${entry.state}` }, entry.detail ?? entry.state));
    if (entry.note) out.push(workflowCommand('warning', { file, line: file ? 1 : undefined, title: entry.name }, entry.note));
  }
  for (const index of view.invalidIndexes) out.push(workflowCommand('error', { title: `index ${index}: INVALID` }, `index "${index}" is INVALID (failed or interrupted CREATE INDEX CONCURRENTLY): DROP INDEX CONCURRENTLY "${index}", then re-create it`));
  if (view.lockHolder) out.push(workflowCommand('notice', { title: view.title }, `migration lock held by ${view.lockHolder}`));
  out.push(workflowCommand(view.state === 'upToDate' ? 'notice' : view.state === 'pending' ? 'warning' : 'error', { title: view.title }, `${view.summary} (${view.database}, schema "${view.schema}")`));
  return `${out.join('\n')}\n`;
}

/** A failed run as one error annotation (stdout stays parseable as workflow commands). */
export function githubFailure(title: string, message: string, hint: string | undefined): string {
  return `${workflowCommand('error', { title: `${title} failed` }, hint ? `${message}\nNext: ${hint}` : message)}\n`;
}
