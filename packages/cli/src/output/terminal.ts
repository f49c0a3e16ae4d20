/**
 * Terminal edge: colour only on a TTY (NO_COLOR and FORCE_COLOR honoured), decided per
 * stream; spinners only on a TTY that has a width and on stderr; --json as exactly one
 * document on stdout; and every string redacted on the way out.
 */
import { stripVTControlCharacters } from 'node:util';
import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import { DigilogError } from '../errors.js';
import type { Logger } from '../log/json-logger.js';
import { redact, redactDeep } from '../redact.js';
import { isCiFormat, type OutputFormat } from './format.js';

export interface Terminal {
  json: boolean;
  /** The --format asked for (json when --json); a CI format turns a failure into that format's document too. */
  format: OutputFormat;
  /** Paints for either stream: a line written to a stream that wants no colour loses it on the way out. */
  color: ChalkInstance;
  /** Human output (stdout). Ignored in --json mode. */
  out(line?: string): void;
  /** Logs and warnings (stderr). */
  err(line: string): void;
  /** A spinner on an interactive stderr, else a no-op that logs nothing. */
  spinner(text: string): Promise<Spinner>;
  /** The one JSON document of a --json run, with `schemaVersion` added as its first key. */
  printJson(value: unknown): void;
  /** Set with LOG_FORMAT=json: stderr carries JSON log lines instead of human text. */
  log: Logger | undefined;
}

/** NO_COLOR wins; FORCE_COLOR=0 (or false) turns colour off and any other value on (chalk's reading); else the stream's own TTY. */
function colorsWanted(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR.toLowerCase() !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Creates the terminal for one command run; `log` (LOG_FORMAT=json) turns stderr into JSON log lines. */
export function createTerminal({ json, format = json ? 'json' : 'text', env = process.env, log }: { json: boolean; format?: OutputFormat; env?: NodeJS.ProcessEnv; log?: Logger }): Terminal {
  // Each stream decides for itself (`migrate | tee` keeps a coloured stderr, `2>log` a coloured stdout):
  // one palette paints, and a stream that wants no colour has it stripped from each line it gets.
  const outColor = !json && !log && colorsWanted(process.stdout, env);
  const errColor = !log && colorsWanted(process.stderr, env);
  const color = new Chalk({ level: outColor || errColor ? 1 : 0 });
  const plain = (line: string, colored: boolean) => (colored ? line : stripVTControlCharacters(line));
  const interactive = !json && !log && process.stderr.isTTY === true && !env.CI && errColor;
  return {
    json,
    format,
    color,
    log,
    out(line = '') {
      if (!json) process.stdout.write(`${redact(plain(line, outColor))}\n`);
    },
    err(line) {
      if (log) log('info', line, { event: 'cli.message' });
      else process.stderr.write(`${redact(plain(line, errColor))}\n`);
    },
    async spinner(text) {
      // A pty of 0 columns (Kubernetes `tty: true`, `docker run -t`, `script` in CI) makes ora 9 divide by
      // zero and clear lines forever, blocking the event loop (and with it SIGTERM): no spinner without a width.
      if (!interactive || !hasWidth(process.stderr)) return silentSpinner(text);
      const { default: ora } = await import('ora');
      return guardedSpinner(ora({ text, stream: process.stderr }).start(), process.stderr);
    },
    printJson(value) {
      const versioned = value !== null && typeof value === 'object' && !Array.isArray(value) ? { schemaVersion: JSON_SCHEMA_VERSION, ...value } : value;
      process.stdout.write(`${JSON.stringify(redactDeep(versioned), null, 2)}\n`);
    },
  };
}

/**
 * The version of every --json document's shape (`schemaVersion`, first key), described by
 * packages/cli/schemas/<command>.schema.json: renaming or removing a field bumps it.
 */
export const JSON_SCHEMA_VERSION = 1;

export type Spinner = Pick<Ora, 'succeed' | 'fail' | 'stop' | 'text'>;

function hasWidth(stream: NodeJS.WriteStream): boolean {
  return typeof stream.columns === 'number' && stream.columns > 0;
}

function silentSpinner(text: string): Spinner {
  const silent = { text, succeed: () => silent, fail: () => silent, stop: () => silent };
  return silent as unknown as Spinner;
}

/** The spinner, stopped for good if the terminal is resized to 0 columns while it runs (the same endless clear). */
function guardedSpinner(spinner: Ora, stream: NodeJS.WriteStream): Spinner {
  let running = true;
  const end = () => {
    running = false;
    stream.removeListener('resize', onResize);
  };
  const onResize = () => {
    if (hasWidth(stream)) return;
    end();
    spinner.stop();
  };
  stream.on('resize', onResize);
  const guarded = {
    get text() {
      return spinner.text;
    },
    set text(value: string) {
      if (running) spinner.text = value;
    },
    succeed: (text?: string) => (end(), hasWidth(stream) ? spinner.succeed(text) : spinner.stop(), guarded),
    fail: (text?: string) => (end(), hasWidth(stream) ? spinner.fail(text) : spinner.stop(), guarded),
    stop: () => (end(), spinner.stop(), guarded),
  };
  return guarded as unknown as Spinner;
}

/** Milliseconds as a short human string. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
