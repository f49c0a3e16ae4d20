/** Human rendering of classifier findings, shared by `lint`, `migrate` and `migrate --dry-run`. */
import type { Level } from '../core/rules.js';
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

/** One line per file, then one per non-safe finding with its lock, context and safer way. */
export function printFindings(
  terminal: Terminal,
  file: { name: string; worst: Level; findings: PrintableFinding[]; parseError?: string },
  write: (line: string) => void = (line) => terminal.out(line),
): void {
  const { color } = terminal;
  const paint = { safe: color.green, care: color.yellow, dangerous: color.red };
  write(`${paint[file.worst](LEVEL_LABEL[file.worst].padEnd(13))} ${file.name}${file.parseError ? color.yellow(` (not parsed: ${file.parseError})`) : ''}`);
  for (const f of file.findings) {
    // A finding the database context lowered to Safe is still shown: the reason is worth reading.
    if (f.level === 'safe' && !f.context) continue;
    const ack = f.acknowledged && f.level !== 'safe' ? color.dim(' (acknowledged)') : '';
    write(`  ${paint[f.level](`[${f.rule}]`)} #${f.statement} ${f.message}${f.table ? ` (${f.table})` : ''}; lock ${f.lock}, blocks ${f.blocks}${ack}`);
    if (f.context) write(color.dim(`    database: ${f.context}`));
    if (f.alternative && f.level !== 'safe') write(color.dim(`    safer: ${f.alternative}`));
  }
}
