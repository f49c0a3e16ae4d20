/**
 * JUnit XML for CI test panes: one test case per migration; a failure for each one that is
 * blocked (a Dangerous change not acknowledged, where the command refuses it), skipped when
 * PostgreSQL's parser rejects it, and its findings in <system-out>. Pure.
 */
import type { FindingsReport, StatusView } from '../report.js';
import { findingText } from './github.js';

/** Text for XML content or attributes: markup characters escaped, characters XML 1.0 cannot hold dropped. */
export function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

interface Case {
  name: string;
  file?: string;
  failure?: { type: string; message: string; body: string };
  error?: { type: string; message: string; body: string };
  skipped?: string;
  out?: string;
}

function document(suite: string, cases: Case[]): string {
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}"`;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(suite)}" ${counts}>`, `  <testsuite name="${xml(suite)}" ${counts}>`];
  for (const c of cases) {
    lines.push(`    <testcase classname="${xml(suite)}" name="${xml(c.name)}"${c.file ? ` file="${xml(c.file)}"` : ''}>`);
    for (const [tag, item] of [['failure', c.failure], ['error', c.error]] as const) {
      if (item) lines.push(`      <${tag} type="${xml(item.type)}" message="${xml(item.message)}">${xml(item.body)}</${tag}>`);
    }
    if (c.skipped !== undefined) lines.push(`      <skipped message="${xml(c.skipped)}"/>`);
    if (c.out) lines.push(`      <system-out>${xml(c.out)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return `${lines.join('\n')}\n`;
}

/** lint or migrate --dry-run: one test case per migration file. */
export function junitFindings(report: FindingsReport): string {
  const cases = report.files.map((file): Case => {
    const risky = file.findings.filter((f) => f.level !== 'safe');
    const out = risky.map((f) => `${file.path}:${f.region.startLine}:${f.region.startColumn} [${f.rule}] ${findingText(f).replace(/\n/g, ' ')}`).join('\n');
    const blocking = risky.filter((f) => f.blocking);
    const c: Case = { name: file.name, file: file.path, ...(out ? { out } : {}) };
    if (file.parseError) c.skipped = `not parsed: ${file.parseError.message}`;
    if (report.blocked && blocking.length > 0) {
      c.failure = {
        type: 'dangerous',
        message: `${blocking.length} Dangerous change(s) not acknowledged: ${blocking.map((f) => `#${f.statement} ${f.rule}`).join(', ')}`,
        body: blocking.map((f) => `${file.path}:${f.region.startLine}: [${f.rule}] ${findingText(f)}`).join('\n\n'),
      };
    }
    return c;
  });
  return document(report.title, cases);
}

/** status: one test case per migration; failed, edited, renamed and missing ones fail, pending ones are skipped. */
export function junitStatus(view: StatusView): string {
  const cases = view.entries.map((e): Case => {
    const c: Case = { name: e.name, file: e.path, ...(e.note ? { out: e.note } : {}) };
    if (e.state === 'pending' || e.state === 'running') c.skipped = e.detail ?? e.state;
    else if (e.state !== 'applied') c.failure = { type: e.state, message: e.detail ?? e.state, body: e.detail ?? e.state };
    return c;
  });
  for (const index of view.invalidIndexes) cases.push({ name: `index ${index}`, failure: { type: 'invalid-index', message: `index "${index}" is INVALID`, body: `DROP INDEX CONCURRENTLY "${index}", then re-create it` } });
  return document(view.title, cases);
}

/** A run that failed before it had results: one test case in error. */
export function junitFailure(title: string, kind: string, message: string, hint: string | undefined): string {
  return document(title, [{ name: title, error: { type: kind, message, body: hint ? `${message}\nNext: ${hint}` : message } }]);
}
