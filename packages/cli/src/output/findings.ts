/** Human rendering of classifier findings, shared by `lint`, `migrate` and `migrate --dry-run`. */
import type { Level } from '../plan/rules.js';
import type { Terminal } from './terminal.js';

interface PrintableFinding {
  level: Level;
  rule: string;
  statement: number;
  message: string;
  table: string | undefined;
  lock: string;
  blocks: string;
  alternative?: string;
  acknowledged: boolean;
  context?: string;
}

export const LEVEL_LABEL: Record<Level, string> = { safe: 'Safe', care: 'Requires care', dangerous: 'Dangerous' };

/**
 * One line per file, then one per non-safe finding with its lock, context and safer way.
 * `showRelaxed` also lists findings the database context lowered to Safe (with the reason),
 * for a plan someone reads before deploying; a deploy's log only needs what still matters.
 */
export function printFindings(
  terminal: Terminal,
  file: { name: string; worst: Level; findings: PrintableFinding[]; parseError?: string },
  { write = (line: string) => terminal.out(line), showRelaxed = true }: { write?: (line: string) => void; showRelaxed?: boolean } = {},
): void {
  const { color } = terminal;
  const paint = { safe: color.green, care: color.yellow, dangerous: color.red };
  write(`${paint[file.worst](LEVEL_LABEL[file.worst].padEnd(13))} ${file.name}${file.parseError ? color.yellow(` (not parsed: ${file.parseError})`) : ''}`);
  // ALTER TABLE t ALTER a TYPE …, ALTER b TYPE … hits one rule twice in one statement: one line, counted.
  const lines = new Map<string, { finding: PrintableFinding; count: number }>();
  for (const f of file.findings) {
    if (f.level === 'safe' && !(showRelaxed && f.context)) continue;
    const key = `${f.statement}/${f.rule}/${f.table ?? ''}/${f.level}`;
    const seen = lines.get(key);
    if (seen) seen.count += 1;
    else lines.set(key, { finding: f, count: 1 });
  }
  for (const { finding: f, count } of lines.values()) {
    const ack = f.acknowledged && f.level !== 'safe' ? color.dim(' (acknowledged)') : '';
    const times = count > 1 ? ` ×${count}` : '';
    write(`  ${paint[f.level](`[${f.rule}]`)}${times} #${f.statement} ${f.message}${f.table ? ` (${f.table})` : ''}; lock ${f.lock}, blocks ${f.blocks}${ack}`);
    if (f.context) write(color.dim(`    database: ${f.context}`));
    if (f.alternative && f.level !== 'safe') write(color.dim(`    safer: ${f.alternative}`));
  }
}
