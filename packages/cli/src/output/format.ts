/**
 * `--format text|json|github|sarif|markdown|junit`, for the commands whose result CI
 * reads (lint, migrate --dry-run, status). `--json` stays the short form of `--format json`.
 * An unknown format is a usage error (exit 2) raised while the flags are parsed.
 */
import type { Command } from 'commander';
import { DigilogError } from '../errors.js';

export const FORMATS = ['text', 'json', 'github', 'sarif', 'markdown', 'junit'] as const;
export type OutputFormat = (typeof FORMATS)[number];
/** The formats rendered from a report (text and json are each command's own). */
export type CiFormat = Exclude<OutputFormat, 'text' | 'json'>;

/** Whether a format is one of the CI renderers'. */
export function isCiFormat(format: OutputFormat | undefined): format is CiFormat {
  return format !== undefined && format !== 'text' && format !== 'json';
}

/** Commander's parser for --format: the value, or a usage error naming the formats. */
export function formatFlag(value: string): OutputFormat {
  const format = value.trim().toLowerCase();
  if ((FORMATS as readonly string[]).includes(format)) return format as OutputFormat;
  throw new DigilogError('usage', `--format must be one of ${FORMATS.join(', ')} (got "${value}")`, { hint: 'Fix --format (see --help).', details: { flag: '--format' } });
}

/** Adds --format to a command. */
export function withFormatOption(command: Command): Command {
  return command.option('--format <format>', `output format: ${FORMATS.join(', ')} (github: workflow annotations; sarif: SARIF 2.1.0 for code scanning; markdown: a PR comment; junit: JUnit XML)`, formatFlag);
}

/**
 * The format a run asked for: --format, or json for --json, else text. `--json` with another
 * --format is a usage error. Sets `flags.json` for --format json, so the rest of the command
 * (and its error printer) sees one flag.
 */
export function resolveFormat(flags: { json?: boolean; format?: OutputFormat }): OutputFormat {
  if (flags.json === true && flags.format !== undefined && flags.format !== 'json') {
    throw new DigilogError('usage', `--json and --format ${flags.format} cannot be combined`, { hint: '--json is short for --format json: pick one format.' });
  }
  const format = flags.format ?? (flags.json === true ? 'json' : 'text');
  if (format === 'json') flags.json = true;
  return format;
}

/** The format named on a command line, for printing an error raised before any command ran (unknown values: text). */
export function formatInArgv(argv: readonly string[]): OutputFormat {
  let named: string | undefined;
  for (const [i, arg] of argv.entries()) {
    if (arg === '--json') named ??= 'json';
    else if (arg === '--format') named = argv[i + 1];
    else if (arg.startsWith('--format=')) named = arg.slice('--format='.length);
  }
  return (FORMATS as readonly string[]).includes(named ?? '') ? (named as OutputFormat) : 'text';
}
