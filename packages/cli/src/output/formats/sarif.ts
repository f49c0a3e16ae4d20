/**
 * SARIF 2.1.0 for code scanning: one rule per classifier rule (its level, lock and safer
 * way), one result per non-safe finding at its statement's region, acknowledged findings
 * as suppressed results, and fingerprints that survive edits above the statement, so a
 * re-run updates the same alerts instead of opening new ones. Pure.
 */
import { createHash } from 'node:crypto';
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { RULES, type Level, type Rule } from '../../plan/rules.js';
import type { FindingsReport, ReportFinding, StatusEntry, StatusView, ToolInfo } from '../report.js';
import { findingText } from './github.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
/** The partialFingerprints key; bump its version if what it hashes changes. */
export const FINGERPRINT_KEY = 'digilogFinding/v1';

const SARIF_LEVEL: Record<Level, 'error' | 'warning' | 'note'> = { dangerous: 'error', care: 'warning', safe: 'note' };
const SRCROOT = '%SRCROOT%';

const capitalized = (id: string) => id.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());

/** The SARIF rule of one classifier rule. */
function classifierRule(id: string, rule: Rule): ReportingDescriptor {
  const safer = rule.alternative ?? (rule.level === 'safe' ? 'Nothing to change: PostgreSQL runs this without risk.' : 'No safer form is known: review the statement, and acknowledge it if intended.');
  return {
    id,
    name: capitalized(id),
    shortDescription: { text: `${id}: ${rule.message.split(':')[0]}` },
    fullDescription: { text: `${rule.message}. Takes ${rule.lock}; blocks ${rule.blocks}.` },
    help: {
      text: `Safer: ${safer}`,
      markdown: `**${rule.message}**\n\nLock: \`${rule.lock}\` (blocks ${rule.blocks}).\n\n**Safer:** ${safer}\n\nAcknowledge an intended change with a line \`<migration> ${id}\` in \`digilog.acknowledgements\`, or \`-- digilog:allow ${id}\` in a migration not applied anywhere yet.`,
    },
    defaultConfiguration: { level: SARIF_LEVEL[rule.level] },
    properties: { tags: ['migration', 'postgresql', rule.level], level: rule.level, lock: rule.lock, blocks: rule.blocks },
  };
}

const PARSE_ERROR_RULE: ReportingDescriptor = {
  id: 'parse-error',
  name: 'ParseError',
  shortDescription: { text: "parse-error: PostgreSQL's parser rejects the file" },
  fullDescription: { text: "PostgreSQL's parser rejects the file, so nothing in it was classified; the server will reject it too when migrate runs it." },
  help: { text: 'Fix the SQL at the position shown.' },
  defaultConfiguration: { level: 'warning' },
  properties: { tags: ['migration', 'postgresql'] },
};

/** Every classifier rule, in the table's order, then parse-error. */
export function sarifRules(): ReportingDescriptor[] {
  return [...Object.entries(RULES).map(([id, rule]) => classifierRule(id, rule as Rule)), PARSE_ERROR_RULE];
}

/** A stable identity for a finding: its migration, rule, table and statement text (not its line), and which repeat it is. */
export function fingerprint(migration: string, finding: Pick<ReportFinding, 'rule' | 'table' | 'sql'>, occurrence: number): string {
  const text = finding.sql.replace(/\s+/g, ' ').trim();
  return createHash('sha256').update([migration, finding.rule, finding.table ?? '', text, String(occurrence)].join('\0')).digest('hex').slice(0, 32);
}

function log(tool: ToolInfo, automation: string, rules: ReportingDescriptor[], results: Result[], failure?: { message: string }): Log {
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, semanticVersion: tool.version, rules } },
        automationDetails: { id: `${automation}/` },
        columnKind: 'utf16CodeUnits',
        invocations: [
          failure
            ? { executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: failure.message } }] }
            : { executionSuccessful: true },
        ],
        results,
      },
    ],
  };
}

/** The SARIF log of lint or migrate --dry-run. */
export function sarifFindings(report: FindingsReport, tool: ToolInfo): Log {
  const rules = sarifRules();
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results: Result[] = [];
  for (const file of report.files) {
    const artifactLocation = { uri: file.path, uriBaseId: SRCROOT };
    if (file.parseError) {
      results.push({
        ruleId: 'parse-error',
        ruleIndex: index.get('parse-error')!,
        level: 'warning',
        message: { text: `${file.name}: PostgreSQL's parser rejects this file: ${file.parseError.message}` },
        locations: [{ physicalLocation: { artifactLocation, region: file.parseError.region } }],
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(file.name, { rule: 'parse-error', table: undefined, sql: file.parseError.message }, 0) },
      });
    }
    const seen = new Map<string, number>();
    for (const f of file.findings) {
      if (f.level === 'safe') continue;
      const identity = `${f.rule}\0${f.table ?? ''}\0${f.sql}`;
      const occurrence = seen.get(identity) ?? 0;
      seen.set(identity, occurrence + 1);
      results.push({
        ruleId: f.rule,
        ruleIndex: index.get(f.rule)!,
        level: SARIF_LEVEL[f.level],
        message: { text: `${file.name} #${f.statement}: ${findingText(f)}` },
        locations: [
          {
            physicalLocation: { artifactLocation, region: { ...f.region, snippet: { text: f.sql } } },
            logicalLocations: [{ name: file.name, kind: 'module' }],
          },
        ],
        partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(file.name, f, occurrence) },
        ...(f.acknowledged
          ? { suppressions: [{ kind: f.acknowledged === 'file' ? 'inSource' : 'external', justification: f.acknowledged === 'file' ? `-- digilog:allow ${f.rule}` : `digilog.acknowledgements or --allow ${file.name}:${f.rule}` }] }
          : {}),
        properties: { migration: file.name, statement: f.statement, ruleLevel: f.ruleLevel, lock: f.lock, blocks: f.blocks, ...(f.table ? { table: f.table } : {}), ...(f.context ? { context: f.context } : {}), blocking: f.blocking },
      } as Result);
    }
  }
  return log(tool, report.kind === 'lint' ? 'digilog-db/lint' : 'digilog-db/migrate-dry-run', rules, results);
}

const STATUS_RULES: Array<{ id: string; state?: StatusEntry['state']; level: 'error' | 'warning' | 'note'; text: string; help: string }> = [
  { id: 'status-failed', state: 'failed', level: 'error', text: 'a migration failed and must be resolved', help: 'Fix it, then `digilog-db resolve --rolled-back "<name>"` (or `--applied` if completed by hand).' },
  { id: 'status-edited', state: 'edited', level: 'error', text: 'an applied migration was edited (checksum mismatch)', help: 'Restore the file as it was applied; put the change in a new migration.' },
  { id: 'status-missing-from-disk', state: 'missingFromDisk', level: 'error', text: 'an applied migration is missing from the migrations folder', help: 'Restore the folder from version control.' },
  { id: 'status-renamed', state: 'renamed', level: 'error', text: 'an applied migration was renamed on disk', help: '`digilog-db resolve --applied "<new name>"` records the rename, or rename the folder back.' },
  { id: 'status-pending', state: 'pending', level: 'note', text: 'a migration is not applied yet', help: 'Run `digilog-db migrate`.' },
  { id: 'status-running', state: 'running', level: 'note', text: 'a migration is being applied right now', help: 'Wait for the other runner.' },
  { id: 'status-note', level: 'warning', text: 'a migration ran over its budget, or is older than the newest applied one', help: 'See the message.' },
  { id: 'status-invalid-index', level: 'error', text: 'an INVALID index was left by a failed CREATE INDEX CONCURRENTLY', help: 'DROP INDEX CONCURRENTLY it, then re-create it.' },
];

/** The SARIF log of status: one result per migration that is not simply applied, and per INVALID index. */
export function sarifStatus(view: StatusView, tool: ToolInfo, migrationsDir: string): Log {
  const rules: ReportingDescriptor[] = STATUS_RULES.map((r) => ({ id: r.id, shortDescription: { text: r.text }, help: { text: r.help }, defaultConfiguration: { level: r.level } }));
  const ruleFor = (id: string) => ({ ruleId: id, ruleIndex: STATUS_RULES.findIndex((r) => r.id === id) });
  const at = (uri: string, line?: number) => [{ physicalLocation: { artifactLocation: { uri, uriBaseId: SRCROOT }, ...(line ? { region: { startLine: line } } : {}) } }];
  const results: Result[] = [];
  for (const entry of view.entries) {
    const rule = STATUS_RULES.find((r) => r.state === entry.state);
    const locations = at(entry.state === 'missingFromDisk' ? migrationsDir : entry.path, entry.state === 'missingFromDisk' ? undefined : 1);
    const print = (id: string) => ({ [FINGERPRINT_KEY]: fingerprint(entry.name, { rule: id, table: undefined, sql: '' }, 0) });
    if (rule) results.push({ ...ruleFor(rule.id), level: rule.level, message: { text: `${entry.name}: ${entry.detail ?? rule.text}` }, locations, partialFingerprints: print(rule.id) });
    if (entry.note) results.push({ ...ruleFor('status-note'), level: 'warning', message: { text: `${entry.name}: ${entry.note}` }, locations, partialFingerprints: print('status-note') });
  }
  for (const name of view.invalidIndexes) {
    results.push({ ...ruleFor('status-invalid-index'), level: 'error', message: { text: `index "${name}" is INVALID (failed or interrupted CREATE INDEX CONCURRENTLY)` }, locations: at(migrationsDir), partialFingerprints: { [FINGERPRINT_KEY]: fingerprint(name, { rule: 'status-invalid-index', table: undefined, sql: '' }, 0) } });
  }
  return log(tool, 'digilog-db/status', rules, results);
}

/** A run that failed before it had results: executionSuccessful false, the error as a notification. */
export function sarifFailure(tool: ToolInfo, automation: string, message: string): Log {
  return log(tool, automation, [], [], { message });
}
