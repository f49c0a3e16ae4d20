/** The one y/N question digilog-db asks (dev's data-loss confirmation, reset's). */
import type { Terminal } from './terminal.js';

/**
 * Asks on stderr and reads a line from stdin: true for y/yes. Undefined when no one can answer
 * (stdin is not a terminal, or --json): the caller says what to pass instead (--yes).
 */
export async function askYesNo(terminal: Terminal, question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || terminal.json) return undefined;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `).finally(() => rl.close());
  return /^y(es)?$/i.test(answer.trim());
}
