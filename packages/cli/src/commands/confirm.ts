/** The one y/N prompt of the CLI (reset, rollback): on stderr, answered on a terminal only. */
import { DigilogError } from '../errors.js';
import type { Terminal } from '../output/terminal.js';

/**
 * Asks `question`; anything but y/yes throws `usage` ("<command> cancelled; nothing was changed").
 * A session that is not interactive, or a --json run, cannot answer: that throws too, naming --yes.
 */
export async function confirm(terminal: Terminal, question: string, command: string): Promise<void> {
  assertCanConfirm(terminal, command);
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(question).finally(() => rl.close());
  if (!/^y(es)?$/i.test(answer.trim())) throw new DigilogError('usage', `${command[0]!.toUpperCase()}${command.slice(1)} cancelled; nothing was changed.`);
}

/** Throws `usage` when nobody can answer the prompt (not a terminal, or --json): a command checks this before any work. */
export function assertCanConfirm(terminal: Terminal, command: string): void {
  if (!process.stdin.isTTY || terminal.json) {
    throw new DigilogError('usage', `${command} needs confirmation, and this session is not interactive`, { hint: 'Pass --yes to confirm.' });
  }
}
