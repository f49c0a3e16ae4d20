/** Options every command shares, and the glue from commander to an operation's result. */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { resolveProjectPaths, type ProjectPaths } from '../project.js';
import { createTerminal, type Terminal } from '../output/terminal.js';

export interface CommonFlags {
  json?: boolean;
  schema?: string;
  migrationsDir?: string;
}

/** Adds --json, --schema and --migrations-dir to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--json', 'print one JSON document on stdout (for CI); logs go to stderr')
    .option('--schema <path>', 'path to schema.prisma (default: prisma/schema.prisma, searched upwards)')
    .option('--migrations-dir <path>', 'migrations folder (default: migrations/ next to the schema)');
}

export interface CommandContext {
  config: Config;
  paths: ProjectPaths;
  terminal: Terminal;
}

/** Everything a command needs, read once: validated environment, project paths, terminal. */
export function commandContext(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const terminal = createTerminal({ json: flags.json === true, env });
  // The terminal exists before validation so that a config error is still rendered as JSON under --json.
  currentTerminal = terminal;
  const config = loadConfig(env);
  const paths = resolveProjectPaths({ schema: flags.schema, migrationsDir: flags.migrationsDir });
  return { config, paths, terminal };
}

/** The terminal of the running command, for the entry point's error printer. */
export let currentTerminal: Terminal | undefined;

/** Commands report their exit code here; only the entry point applies it. */
export const outcome = { exitCode: 0 };

export function setExitCode(code: number): void {
  outcome.exitCode = code;
}
