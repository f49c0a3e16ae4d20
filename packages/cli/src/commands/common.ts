/** Options every command shares, and the glue from commander to an operation's result. */
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { loadConfig, registerUrlSecrets, withEmbeddedDefault, type Config } from '../config/config.js';
import { applyDatasource, readDatasource } from '../config/datasource.js';
import { resolveProjectPaths, type ProjectPaths } from '../read/project.js';
import { createTerminal, type Terminal } from '../output/terminal.js';
import type { Outcome, Run } from './run.js';
import type { OutputFormat } from '../output/format.js';

export interface CommonFlags {
  json?: boolean;
  /** --format, on the commands that take it (output/format.ts). */
  format?: OutputFormat;
  schema?: string;
  migrationsDir?: string;
  url?: string;
  embedded?: boolean;
}

/** Adds --json, --schema, --migrations-dir, --url and --embedded to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--json', 'print one JSON document on stdout (for CI); logs go to stderr')
    .option('--schema <path>', 'path to schema.prisma (default: prisma/schema.prisma, searched upwards)')
    .option('--migrations-dir <path>', 'migrations folder (default: migrations/ next to the schema)')
    .option('--url <url>', 'database to use, postgresql://USER:PASSWORD@HOST:PORT/DATABASE (wins over DATABASE_URL and the schema datasource)')
    .option('--embedded', 'use the embedded database (PGlite in .digilog/) when no URL is set, also in CI (same as DIGILOG_EMBEDDED=true)');
}

export interface CommandContext {
  config: Config;
  paths: ProjectPaths;
  terminal: Terminal;
}

/**
 * Everything a command needs, read once: validated environment, project
 * paths, terminal, and a database (the embedded default when DATABASE_URL is
 * unset outside production; `shadow` also starts its shadow instance).
 */
export async function commandContext(run: Run, flags: CommonFlags, { shadow = false }: { shadow?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): Promise<CommandContext> {
  // The terminal exists before validation so that a config error is still rendered as JSON under --json.
  commandTerminal(run, flags, env);
  // Registered before anything can fail, so that no message can echo the --url password.
  if (flags.url !== undefined) registerUrlSecrets(flags.url);
  // --url wins over the environment: DATABASE_URL is not even validated then.
  const loaded = loadConfig(flags.url !== undefined ? { ...env, DATABASE_URL: undefined, DIRECT_URL: undefined } : env);
  // LOG_FORMAT=json (validated above): stderr becomes JSON log lines from here on; the logger is loaded only then.
  if (loaded.logFormat === 'json') run.terminal = createTerminal({ json: flags.json === true, ...(flags.format ? { format: flags.format } : {}), env, log: (await import('../log/json-logger.js')).createJsonLogger({ service: 'digilog-db' }) });
  const paths = resolveProjectPaths({ schema: flags.schema, migrationsDir: flags.migrationsDir });
  const projectDir = dirname(paths.schemaPath ? dirname(paths.schemaPath) : paths.migrationsDir);
  const withUrl = applyDatasource({ ...loaded, embedded: loaded.embedded || flags.embedded === true }, env, { datasource: readDatasource(paths.schemaPath, projectDir), url: flags.url });
  const embedded = await withEmbeddedDefault(withUrl, projectDir, { shadow, announce: (line) => run.terminal!.err(line) });
  run.onCleanup(embedded.stop);
  return { config: embedded.config, paths, terminal: run.terminal! };
}

/** The run's terminal for a command that needs no configuration (lint, generate, roles). */
export function commandTerminal(run: Run, flags: Pick<CommonFlags, 'json' | 'format'>, env: NodeJS.ProcessEnv = process.env): Terminal {
  run.terminal = createTerminal({ json: flags.json === true, ...(flags.format ? { format: flags.format } : {}), env });
  return run.terminal;
}

/** A commander action that returns the command's Outcome: kept on the run, for cli.ts to print and exit with. */
export function outcomeOf<A extends unknown[]>(run: Run, action: (...args: A) => Promise<Outcome | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const outcome = await action(...args);
    if (outcome) run.outcome = outcome;
  };
}
