/** The one y/N question digilog-db asks (dev's data-loss confirmation, reset's, rollback's). */
import { DigilogError } from '../errors.js';
import type { Terminal } from './terminal.js';

/** Whether someone can answer a question: stdin is a terminal and the run is not --json. */
export function canAsk(terminal: Terminal): boolean {
  return process.stdin.isTTY === true && !terminal.json;
}

/**
 * Asks on stderr and reads a line from stdin: true for y/yes. Undefined when no one can answer
 * (stdin is not a terminal, or --json): the caller says what to pass instead (--yes).
 */
export async function askYesNo(terminal: Terminal, question: string): Promise<boolean | undefined> {
  if (!canAsk(terminal)) return undefined;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `).finally(() => rl.close());
  return /^y(es)?$/i.test(answer.trim());
}

/** A confirmation nobody can give: a command that needs one says so (before any work, when it can) and names --yes. */
export function needsConfirmation(command: string): DigilogError {
  return new DigilogError('usage', `${command} needs confirmation, and this session is not interactive`, { hint: 'Pass --yes to confirm.' });
}

/** Asks `question`; anything but y/yes stops the command with "<Command> cancelled; nothing was changed." (exit 2). */
export async function confirmOrStop(terminal: Terminal, question: string, command: string): Promise<void> {
  const answer = await askYesNo(terminal, question);
  if (answer === undefined) throw needsConfirmation(command);
  if (!answer) throw new DigilogError('usage', `${command[0]!.toUpperCase()}${command.slice(1)} cancelled; nothing was changed.`);
}
