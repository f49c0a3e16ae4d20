/** The one rendering of a failed command, in whichever output the run asked for (cli.ts calls it). */
import type { DigilogError } from '../errors.js';
import { redact } from '../redact.js';
import { isCiFormat } from './format.js';
import { renderFailure } from './render.js';
import type { Terminal } from './terminal.js';

/** Renders a failure: one clear line, Prisma's code, the next step. */
export function printError(terminal: Terminal, error: DigilogError): void {
  // With JSON logs the failure is also one log line, so a collector sees it (connectivity errors get their own event name).
  terminal.log?.('error', error.message, {
    event: error.kind === 'unreachable' ? 'database.unreachable' : 'command.failed',
    kind: error.kind,
    exitCode: error.exitCode,
    prismaCode: error.prismaCode ?? null,
    hint: error.hint ?? null,
  });
  if (terminal.json) {
    terminal.printJson({
      ok: false,
      error: {
        kind: error.kind,
        exitCode: error.exitCode,
        prismaCode: error.prismaCode ?? null,
        message: error.message,
        hint: error.hint ?? null,
        details: error.details,
      },
    });
    return;
  }
  // stdout still holds one document of the format asked for (an error annotation, a SARIF log whose run failed, …).
  if (isCiFormat(terminal.format)) process.stdout.write(redact(renderFailure(terminal.format, error)));
  if (terminal.log) return;
  const { color } = terminal;
  const code = error.prismaCode ? ` ${color.dim(`[${error.prismaCode}]`)}` : '';
  terminal.err(`${color.red('Error:')} ${error.message}${code}`);
  if (error.hint) terminal.err(`${color.yellow('Next:')} ${error.hint}`);
}
