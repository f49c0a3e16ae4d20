/**
 * Terminal edge: colour only on a TTY (NO_COLOR honoured), spinners only on a
 * TTY and on stderr, --json as exactly one document on stdout, and every
 * string redacted on the way out.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { DigilogError } from '../errors.js';
import type { Logger } from '../log/json-logger.js';
import { redact, redactDeep } from '../redact.js';

export interface Terminal {
  json: boolean;
  color: ChalkInstance;
  /** Human output (stdout). Ignored in --json mode. */
  out(line?: string): void;
  /** Logs and warnings (stderr). */
  err(line: string): void;
  /** A spinner on an interactive stderr, else a no-op that logs nothing. */
  spinner(text: string): Promise<Pick<Ora, 'succeed' | 'fail' | 'stop' | 'text'>>;
  /** The one JSON document of a --json run. */
  printJson(value: unknown): void;
  /** Set with LOG_FORMAT=json: stderr carries JSON log lines instead of human text. */
  log: Logger | undefined;
}

function colorsWanted(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Creates the terminal for one command run; `log` (LOG_FORMAT=json) turns stderr into JSON log lines. */
export function createTerminal({ json, env = process.env, log }: { json: boolean; env?: NodeJS.ProcessEnv; log?: Logger }): Terminal {
  const color = new Chalk({ level: !json && !log && colorsWanted(process.stdout, env) ? 1 : 0 });
  const interactive = !json && !log && process.stderr.isTTY === true && !env.CI && colorsWanted(process.stderr, env);
  return {
    json,
    color,
    log,
    out(line = '') {
      if (!json) process.stdout.write(`${redact(line)}\n`);
    },
    err(line) {
      if (log) log('info', line, { event: 'cli.message' });
      else process.stderr.write(`${redact(line)}\n`);
    },
    async spinner(text) {
      if (!interactive) {
        const silent = { text, succeed: () => silent, fail: () => silent, stop: () => silent };
        return silent as unknown as Ora;
      }
      const { default: ora } = await import('ora');
      return ora({ text, stream: process.stderr }).start();
    },
    printJson(value) {
      process.stdout.write(`${JSON.stringify(redactDeep(value), null, 2)}\n`);
    },
  };
}

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
  if (terminal.log) return;
  const { color } = terminal;
  const code = error.prismaCode ? ` ${color.dim(`[${error.prismaCode}]`)}` : '';
  terminal.err(`${color.red('Error:')} ${error.message}${code}`);
  if (error.hint) terminal.err(`${color.yellow('Next:')} ${error.hint}`);
}

/** Milliseconds as a short human string. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
