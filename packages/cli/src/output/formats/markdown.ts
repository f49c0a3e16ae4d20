/**
 * A Markdown report fit for a pull-request comment (and a job summary): the plan, the
 * findings with their lines, the lock each statement takes, and what production would
 * block; long tables collapsed. Starts with a hidden marker so a sticky comment can find
 * and replace its earlier self. Pure.
 */
import { LEVEL_LABEL } from '../findings.js';
import type { FindingsReport, ReportFinding, ReportFile, StatusView } from '../report.js';

/** The first line of every report: an HTML comment the Action looks for to update its comment. */
export const REPORT_MARKER = '<!-- digilog-db report -->';
/** Tables longer than this are folded into <details>. */
const FOLD_ROWS = 10;
const ICON = { safe: '✅', care: '⚠️', dangerous: '⛔' } as const;

/** A table cell: pipes escaped, newlines as <br>, HTML's < & > as entities (a migration's SQL must not become markup). */
export function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n|\r/g, '<br>');
}

/** Inline code that survives any backticks in the text. */
export function code(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${longest > 0 ? ' ' : ''}${flat}${longest > 0 ? ' ' : ''}${fence}`;
}

function table(header: string[], rows: string[][], summary: string): string {
  if (rows.length === 0) return '';
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  const body = lines.join('\n');
  return rows.length > FOLD_ROWS ? `<details><summary>${summary}</summary>\n\n${body}\n\n</details>\n` : `**${summary}**\n\n${body}\n`;
}


/** The report of lint or migrate --dry-run. */
export function markdownFindings(report: FindingsReport): string {
  const { counts } = report;
  const worst = report.files.some((f) => f.worst === 'dangerous') ? 'dangerous' : report.files.some((f) => f.worst === 'care') ? 'care' : 'safe';
  const verdict = report.blocked ? `⛔ blocked: ${report.blockingCount} Dangerous change(s) not acknowledged` : `${ICON[worst]} ${LEVEL_LABEL[worst]}`;
  const out = [REPORT_MARKER, `### ${report.title}: ${verdict}`, ''];
  const scope = report.kind === 'dry-run' ? `${report.files.length} pending migration(s) on ${code(report.database ?? '')}${report.withContext ? ', classified against the live tables' : ''}` : `${report.files.length} migration file(s)`;
  out.push(`${scope}: ${counts.dangerous} dangerous, ${counts.care} requiring care, ${counts.safe} safe statement(s).`, '');
  for (const warning of report.warnings) out.push(`> ⚠️ ${cell(warning)}`, '');
  out.push(
    table(
      ['', 'migration', 'statements', ...(report.kind === 'dry-run' ? ['runs'] : []), 'worst'],
      report.files.map((f) => [ICON[f.worst], code(f.name), String(f.statements), ...(report.kind === 'dry-run' ? [f.mode ?? ''] : []), f.parseError ? `not parsed: ${cell(f.parseError.message)}` : LEVEL_LABEL[f.worst]]),
      report.kind === 'dry-run' ? 'Plan' : 'Migrations',
    ),
  );
  const risky = report.files.flatMap((file) => file.findings.filter((f) => f.level !== 'safe').map((f) => ({ file, f })));
  out.push(
    table(
      ['', 'migration', 'line', 'rule', 'table', 'what', 'safer way'],
      risky.map(({ file, f }) => [
        ICON[f.level],
        code(file.name),
        String(f.region.startLine),
        `${code(f.rule)}${f.acknowledged ? ' (acknowledged)' : ''}`,
        f.table ? code(f.table) : '',
        cell(`${f.message}${f.context ? ` (database: ${f.context})` : ''}`),
        cell(f.alternative ?? ''),
      ]),
      `Findings (${risky.length})`,
    ),
  );
  const statements = report.files.flatMap((file) => dedupeStatements(file).map((f) => ({ file, f })));
  out.push(
    table(
      ['migration', 'line', 'statement', 'lock', 'blocks'],
      statements.map(({ file, f }) => [code(file.name), String(f.region.startLine), code(f.sql.length > 80 ? `${f.sql.slice(0, 77)}...` : f.sql), cell(f.lock), cell(f.blocks)]),
      `Locks by statement (${statements.length})`,
    ),
  );
  const blocking = risky.filter(({ f }) => f.blocking);
  if (blocking.length > 0) {
    out.push(`**${report.blocked ? 'Blocked' : 'Production would block'}** (${blocking.length}):`, '');
    for (const { file, f } of blocking) out.push(`- ${code(file.name)} #${f.statement} ${code(f.rule)}${f.table ? ` on ${code(f.table)}` : ''}: ${cell(f.message)}`);
    out.push('', `If intended, add the line ${code(`${blocking[0]!.file.name} ${blocking[0]!.f.rule}`)} to ${code('digilog.acknowledgements')} at the migrations folder's root, or pass ${code(`--allow ${blocking[0]!.file.name}:${blocking[0]!.f.rule}`)}.`, '');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** One row per statement (the first finding of each: its lock is the statement's). */
function dedupeStatements(file: ReportFile): ReportFinding[] {
  const seen = new Set<number>();
  return file.findings.filter((f) => !seen.has(f.statement) && seen.add(f.statement));
}

const STATE_ICON: Record<StatusView['entries'][number]['state'], string> = { applied: '✅', pending: '🕓', running: '⏳', failed: '❌', edited: '✏️', missingFromDisk: '❓', renamed: '↷' };

/** The report of status. */
export function markdownStatus(view: StatusView): string {
  const ok = view.state === 'upToDate';
  const out = [REPORT_MARKER, `### ${view.title}: ${ok ? '✅' : view.state === 'pending' ? '🕓' : '❌'} ${cell(view.summary)}`, '', `Database ${code(view.database)}, schema ${code(view.schema)}.`, ''];
  const rows = view.entries.map((e) => [STATE_ICON[e.state], code(e.name), e.state, cell([e.detail, e.note].filter(Boolean).join('; '))]);
  out.push(table(['', 'migration', 'state', 'detail'], rows, `Migrations (${rows.length})`));
  for (const index of view.invalidIndexes) out.push(`- ❌ index ${code(index)} is INVALID (failed CREATE INDEX CONCURRENTLY): ${code(`DROP INDEX CONCURRENTLY "${index}"`)}, then re-create it.`);
  if (view.lockHolder) out.push('', `⏳ The migration lock is held by ${cell(view.lockHolder)}.`);
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** A failed run, for the comment that would have held the report. */
export function markdownFailure(title: string, message: string, hint: string | undefined): string {
  return `${[REPORT_MARKER, `### ${title}: ❌ failed`, '', cell(message), ...(hint ? ['', `**Next:** ${cell(hint)}`] : [])].join('\n')}\n`;
}
